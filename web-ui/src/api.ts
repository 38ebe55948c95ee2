/**
 * The console's only way to the appliance: the public REST API under
 * /api/v1. Sessions are HttpOnly cookies the browser sends by itself;
 * changes carry the CSRF token (double submit: the readable CSRF cookie
 * echoed in a header). Every failure becomes an ApiError with a readable
 * message and per-field messages.
 */
import { ApiError, toApiError } from './lib/errors.js';
import { ApiSchemas, type OpenApiDoc } from './lib/openapi.js';
import { byField } from './lib/validate.js';

export const API = '/api/v1';

/** Every route the console uses, in one place. */
export const paths = {
  health: `${API}/health`,
  openapi: `${API}/openapi.json`,
  setup: `${API}/setup`,
  /** POST logs in, DELETE logs out. */
  sessions: `${API}/sessions`,
  me: `${API}/sessions/me`,
  myPassword: `${API}/sessions/me/password`,
  state: `${API}/state`,
  settings: `${API}/settings`,
  pools: `${API}/pools`,
  pool: (id: string) => `${API}/pools/${encodeURIComponent(id)}`,
  poolAddDisks: (id: string) => `${API}/pools/${encodeURIComponent(id)}/disks`,
  poolReplaceBrick: (id: string) => `${API}/pools/${encodeURIComponent(id)}/replace-brick`,
  disks: `${API}/disks`,
  volumes: `${API}/volumes`,
  shares: `${API}/shares`,
  share: (name: string) => `${API}/shares/${encodeURIComponent(name)}`,
  users: `${API}/users`,
  user: (name: string) => `${API}/users/${encodeURIComponent(name)}`,
  groups: `${API}/groups`,
  group: (name: string) => `${API}/groups/${encodeURIComponent(name)}`,
  tokens: `${API}/tokens`,
  token: (id: string) => `${API}/tokens/${encodeURIComponent(id)}`,
  history: `${API}/state/history`,
  revision: (rev: number | string) => `${API}/state/history/${encodeURIComponent(String(rev))}`,
  /** POST {revision}. */
  rollback: `${API}/state/rollback`,
  status: `${API}/status`,
  reconcile: `${API}/reconcile`,
  tasks: `${API}/tasks`,
  task: (id: string) => `${API}/tasks/${encodeURIComponent(id)}`,
  cluster: `${API}/cluster`,
  clusterJoinToken: `${API}/cluster/join-token`,
  clusterMembers: `${API}/cluster/members`,
  clusterMember: (name: string) => `${API}/cluster/members/${encodeURIComponent(name)}`,
  clusterSmb: `${API}/cluster/smb`,
  metrics: '/metrics',
};

let csrfToken: string | null = null;

/** A token from a login or session response; otherwise read from the CSRF cookie. */
export function setCsrfToken(t: string | null | undefined): void {
  csrfToken = t ?? null;
}

function csrfFromCookie(): string | null {
  for (const part of document.cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k && /csrf/i.test(k)) return decodeURIComponent(v.join('='));
  }
  return null;
}

/** Listeners told when the session ends (401 on any call). */
const onUnauthorized = new Set<() => void>();
export function whenUnauthorized(f: () => void): () => void {
  onUnauthorized.add(f);
  return () => onUnauthorized.delete(f);
}

export interface RequestOptions {
  signal?: AbortSignal;
  /** Don't treat a 401 as "session ended" (the login form itself). */
  quiet401?: boolean;
  /** Check the body against the route's OpenAPI schema first (default true for bodies). */
  validate?: boolean;
}

export async function request<T = unknown>(method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<T> {
  if (body !== undefined && opts.validate !== false) {
    const s = await schemas().catch(() => null);
    const errs = s ? s.check(method, path, body) : [];
    if (errs.length) throw new ApiError('Some fields need attention.', 0, 'CLIENT_VALIDATION', byField(errs));
  }
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') {
    const t = csrfFromCookie() ?? csrfToken;
    if (t) headers['x-csrf-token'] = t;
  }
  const init: RequestInit = { method, headers, credentials: 'same-origin' };
  if (body !== undefined) init.body = JSON.stringify(body);
  if (opts.signal) init.signal = opts.signal;
  const res = await fetch(path, init);
  const text = await res.text();
  let parsed: unknown = undefined;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  if (!res.ok) {
    if (res.status === 401 && !opts.quiet401) for (const f of onUnauthorized) f();
    throw toApiError(res.status, parsed);
  }
  return parsed as T;
}

export const get = <T>(path: string, opts?: RequestOptions) => request<T>('GET', path, undefined, opts);
export const post = <T>(path: string, body?: unknown, opts?: RequestOptions) => request<T>('POST', path, body ?? {}, opts);
export const put = <T>(path: string, body: unknown, opts?: RequestOptions) => request<T>('PUT', path, body, opts);
export const patch = <T>(path: string, body: unknown, opts?: RequestOptions) => request<T>('PATCH', path, body, opts);
export const del = <T>(path: string, opts?: RequestOptions) => request<T>('DELETE', path, undefined, opts);

let schemasPromise: Promise<ApiSchemas> | null = null;

/** The API's OpenAPI document, fetched once (again after a failure). */
export function schemas(): Promise<ApiSchemas> {
  schemasPromise ??= fetch(paths.openapi, { credentials: 'same-origin' })
    .then(async (r) => {
      if (!r.ok) throw toApiError(r.status, null);
      return new ApiSchemas((await r.json()) as OpenApiDoc);
    })
    .catch((e: unknown) => {
      schemasPromise = null;
      throw e;
    });
  return schemasPromise;
}

/** Fetches the Prometheus text with the session; null when the appliance has none to give. */
export async function metricsText(signal?: AbortSignal): Promise<string> {
  const init: RequestInit = { credentials: 'same-origin', headers: { accept: 'text/plain' } };
  if (signal) init.signal = signal;
  const res = await fetch(paths.metrics, init);
  if (!res.ok) throw toApiError(res.status, null);
  return res.text();
}
