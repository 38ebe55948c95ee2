/**
 * Turns whatever the API (or the network) answered into readable sentences
 * and per-field messages. The API's error body is
 * `{ error: { code, message, fields?: [{ path, message }] } }`; older or
 * framework-made errors may be `{ statusCode, error, message }`.
 */
import { normalizePath } from './validate.js';

export interface ApiErrorBody {
  error?: string | { code?: string; message?: string; fields?: Array<{ path?: string; message?: string }> };
  message?: string;
  code?: string;
  statusCode?: number;
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | undefined,
    readonly fields: Record<string, string[]>,
  ) {
    super(message);
  }
}

const BY_STATUS: Record<number, string> = {
  400: 'The request was not accepted.',
  401: 'You are not signed in, or your session has ended. Sign in again.',
  403: 'Your account is not allowed to do that.',
  404: 'That does not exist (any more).',
  409: 'That conflicts with the current state. Reload and try again.',
  413: 'That is too large.',
  429: 'Too many attempts. Wait a minute and try again.',
  500: 'The appliance hit an internal error. The details are in its log.',
  502: 'The appliance did not answer properly.',
  503: 'The appliance is not ready yet. Try again in a moment.',
};

function sentence(s: string): string {
  const t = s.trim();
  if (!t) return t;
  const c = t[0]!.toUpperCase() + t.slice(1);
  return /[.!?]$/.test(c) ? c : `${c}.`;
}

/** Builds an ApiError from a status and a parsed (or unparsable) body. */
export function toApiError(status: number, body: unknown): ApiError {
  const b = (typeof body === 'object' && body !== null ? body : {}) as ApiErrorBody;
  let message = '';
  let code: string | undefined;
  const fields: Record<string, string[]> = {};
  if (typeof b.error === 'object' && b.error !== null) {
    message = b.error.message ?? '';
    code = b.error.code;
    for (const f of b.error.fields ?? []) {
      const k = normalizePath(f.path ?? '');
      (fields[k] ??= []).push(sentence(f.message ?? 'Not valid'));
    }
  } else {
    message = b.message ?? (typeof b.error === 'string' ? b.error : '');
    code = b.code;
  }
  if (!message || /^\s*(body|querystring|params)\//.test(message)) {
    message = Object.keys(fields).length ? 'Some fields need attention.' : (BY_STATUS[status] ?? `The appliance answered with status ${status}.`);
  }
  return new ApiError(sentence(message), status, code, fields);
}

/** A readable sentence for anything thrown while talking to the API. */
export function describe(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof TypeError) return 'The appliance does not answer. Check that it is running and reachable.';
  if (e instanceof Error && e.name === 'AbortError') return 'The request took too long and was stopped.';
  if (e instanceof Error) return sentence(e.message);
  return 'Something went wrong.';
}
