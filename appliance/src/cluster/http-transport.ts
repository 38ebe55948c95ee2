/**
 * The product's JoinTransport: A's cairnd calls B's cairnd over HTTP,
 * `POST <B>/api/v1/cluster/join` with the JoinRequest as JSON. The join
 * token inside is the only credential (B's route is public to the cluster
 * and checks the token itself, see api/routes/cluster.ts).
 *
 * Addresses: `host`, `host:port`, `[v6]:port`, or a full `http(s)://…`
 * base URL. A token that carries B's certificate pin (`SECRET.PIN`,
 * tls.ts) is sent over HTTPS only — `https://…` as given, else
 * https://host:8443 (or host:port) — after B's certificate matched the pin;
 * only the SECRET part goes in the request. A token without a pin (an
 * older cairnd, or one whose HTTPS listener failed): http, default port
 * 8080.
 *
 * B's refusals come back as the catalog's codes and become ClusterErrors
 * again, so A's API answers with the same code B gave (a wrong token on B
 * is `join_token_invalid` on A too). A connection failure or timeout is
 * JOIN_UNREACHABLE.
 */
import { once } from 'node:events';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { JoinReply, JoinRequest, JoinTransport } from './cluster.js';
import { ClusterError, type ClusterErrorCode } from './errors.js';
import { pinMatches, splitJoinToken } from './tls.js';

export interface HttpJoinTransportOptions {
  /** Per request, default 15 s. */
  timeoutMs?: number;
  /** Port when the address has none, default 8080. */
  defaultPort?: number;
  /** HTTPS port when the token carries a certificate pin and the address has no port, default 8443. */
  defaultTlsPort?: number;
}

const FROM_CATALOG: Record<string, ClusterErrorCode> = {
  join_token_invalid: 'JOIN_TOKEN_INVALID',
  join_token_expired: 'JOIN_TOKEN_EXPIRED',
  already_in_cluster: 'ALREADY_IN_CLUSTER',
  validation_failed: 'INVALID_ARGUMENT',
  bad_request: 'INVALID_ARGUMENT',
};

/** Pure: the base URL of the cairnd at `address`. */
export function baseUrlOf(address: string, defaultPort = 8080): string {
  const a = address.trim();
  if (/^https?:\/\//i.test(a)) {
    let u: URL;
    try {
      u = new URL(a);
    } catch {
      throw new ClusterError('INVALID_ARGUMENT', `not a URL: ${JSON.stringify(address)}`);
    }
    return `${u.protocol}//${u.host}`;
  }
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::(\d{1,5}))?$/.exec(a);
  if (!m || (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65535))) {
    throw new ClusterError('INVALID_ARGUMENT', `not a host, host:port or URL: ${JSON.stringify(address)}`);
  }
  return `http://${m[1]}:${m[2] ?? defaultPort}`;
}

/** Pure: the HTTPS base URL for a pinned join: a given https URL, else https on `host[:port]` (default the cluster port). */
export function tlsBaseUrlOf(address: string, defaultTlsPort = 8443): string {
  if (/^http:\/\//i.test(address.trim())) {
    throw new ClusterError('INVALID_ARGUMENT', 'the join token carries a certificate fingerprint: give the address as a host, host:port or https:// URL, not http://');
  }
  return baseUrlOf(/^https:\/\//i.test(address.trim()) ? address : `https://${addPort(address.trim(), defaultTlsPort)}`);
}

function addPort(a: string, port: number): string {
  if (/^\[.*\]$/.test(a) || (!a.includes(':') && !a.startsWith('['))) return `${a}:${port}`;
  return a;
}

export class HttpJoinTransport implements JoinTransport {
  constructor(private readonly opts: HttpJoinTransportOptions = {}) {}

  async join(address: string, req: JoinRequest): Promise<JoinReply> {
    const { secret, pin } = splitJoinToken(req.token);
    const base = pin ? tlsBaseUrlOf(address, this.opts.defaultTlsPort) : baseUrlOf(address, this.opts.defaultPort);
    const body = JSON.stringify({ ...req, token: secret });
    const timeoutMs = this.opts.timeoutMs ?? 15_000;
    let res: { ok: boolean; status: number; text: string };
    try {
      res = pin ? await pinnedPost(base, '/api/v1/cluster/join', body, pin, timeoutMs) : await plainPost(base, '/api/v1/cluster/join', body, timeoutMs);
    } catch (e) {
      if (e instanceof ClusterError) throw e;
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      throw new ClusterError('JOIN_UNREACHABLE', `cairnd at ${base} did not answer (${cause})`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(res.text);
    } catch {
      throw new ClusterError('JOIN_UNREACHABLE', `${base} answered HTTP ${res.status} without JSON: is it a cairnd?`);
    }
    if (!res.ok) {
      const err = (parsed as { error?: { code?: string; message?: string } }).error;
      const code = FROM_CATALOG[err?.code ?? ''] ?? 'JOIN_FAILED';
      throw new ClusterError(code, `${base}: ${err?.message ?? `HTTP ${res.status}`}`);
    }
    const reply = parsed as Partial<JoinReply>;
    if (typeof reply.hostname !== 'string' || reply.hostname === '' || reply.clusterId !== req.clusterId) {
      throw new ClusterError('JOIN_FAILED', `${base} gave an unexpected join reply`);
    }
    return { hostname: reply.hostname, clusterId: reply.clusterId, ...(typeof reply.stateBrick === 'string' && reply.stateBrick.startsWith('/') ? { stateBrick: reply.stateBrick } : {}) };
  }
}

async function plainPost(base: string, path: string, body: string, timeoutMs: number): Promise<{ ok: boolean; status: number; text: string }> {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    signal: AbortSignal.timeout(timeoutMs),
    redirect: 'error',
  });
  return { ok: res.ok, status: res.status, text: await res.text() };
}

/**
 * POST over TLS to a peer whose certificate must match `pin`: the TLS
 * handshake comes first and the certificate is checked before one byte of
 * the body (which holds the cluster's secrets) is sent. No CA is asked
 * (the certificates are self-signed): the pin is the trust.
 */
async function pinnedPost(base: string, path: string, body: string, pin: string, timeoutMs: number): Promise<{ ok: boolean; status: number; text: string }> {
  const u = new URL(base);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = Number(u.port || 443);
  const socket = tlsConnect({ host, port, ...(isIP(host) ? {} : { servername: host }), rejectUnauthorized: false });
  const timer = setTimeout(() => socket.destroy(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
  try {
    await once(socket, 'secureConnect');
    const cert = socket.getPeerX509Certificate();
    if (!cert || !pinMatches(cert.raw, pin)) {
      socket.destroy();
      throw new ClusterError(
        'JOIN_CERT_MISMATCH',
        `${base} presented a certificate that is not the one in the join token: it is not the appliance that showed the token, or something in between answers for it (nothing was sent)`,
      );
    }
    return await new Promise((resolve, reject) => {
      const r = httpsRequest(
        { host, port, method: 'POST', path, createConnection: () => socket, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => resolve({ ok: (res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300, status: res.statusCode ?? 0, text }));
          res.on('error', reject);
        },
      );
      r.on('error', reject);
      r.end(body);
    });
  } finally {
    clearTimeout(timer);
    socket.destroy();
  }
}
