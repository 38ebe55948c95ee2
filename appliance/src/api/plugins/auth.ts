/**
 * Authentication and authorisation for every route, installed once on the
 * root instance (like fastify/demo's autohooks):
 *
 * - Each route declares `config.access`: 'public', 'read' or 'admin'. A
 *   route that declares nothing gets 'read' for GET/HEAD and 'admin' for
 *   anything else under /api and /metrics; routes outside them (the
 *   console's static files) are public.
 * - Credentials: `Authorization: Bearer cairn_…` (API token) or the
 *   `cairn_session` cookie (console). A session's role is its user's
 *   current role: demoting or disabling a user takes effect at once.
 * - CSRF: a cookie session on an unsafe method must echo its CSRF token in
 *   the X-CSRF-Token header (double submit; the token lives in the session
 *   and in the readable `cairn_csrf` cookie). Tokens need no CSRF check:
 *   browsers never attach them on their own.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiContext, Principal } from '../context.js';
import { ApiError } from '../errors.js';

export const SESSION_COOKIE = 'cairn_session';
export const CSRF_COOKIE = 'cairn_csrf';
export const CSRF_HEADER = 'x-csrf-token';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);
const ANONYMOUS: Principal = Object.freeze({ kind: 'anonymous', name: '' });

function defaultAccess(url: string, method: string | string[]): 'public' | 'read' | 'admin' {
  if (!url.startsWith('/api') && !url.startsWith('/metrics')) return 'public';
  const methods = Array.isArray(method) ? method : [method];
  return methods.every((m) => SAFE.has(m)) ? 'read' : 'admin';
}

export function authenticate(ctx: ApiContext, req: FastifyRequest): Principal {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    const tok = m ? ctx.tokens.verify(m[1]!) : undefined;
    if (!tok) throw new ApiError('unauthenticated', 'the API token is not valid (revoked, expired or mistyped)');
    const creator = ctx.store.state.users.find((u) => u.name === tok.createdBy);
    if (!creator || !creator.enabled || !creator.role) throw new ApiError('unauthenticated', `the API token's owner ${JSON.stringify(tok.createdBy)} is gone or disabled`);
    // A token never has more rights than the user who made it has now.
    const role = tok.role === 'admin' && creator.role === 'admin' ? 'admin' : 'read-only';
    return { kind: 'token', name: tok.name, role, tokenId: tok.id };
  }
  const sid = req.cookies[SESSION_COOKIE];
  if (sid) {
    const s = ctx.sessions.get(sid);
    const user = s && ctx.store.state.users.find((u) => u.name === s.user);
    if (s && user && user.enabled && user.role) return { kind: 'session', name: user.name, role: user.role, sessionId: sid };
  }
  return ANONYMOUS;
}

export function installAuth(app: FastifyInstance, ctx: ApiContext): void {
  app.decorateRequest('principal', null as unknown as Principal);
  app.addHook('onRoute', (route) => {
    route.config = { ...(route.config ?? {}), access: route.config?.access ?? defaultAccess(route.url, route.method) } as never;
  });
  app.addHook('onRequest', async (req: FastifyRequest, _reply: FastifyReply) => {
    req.principal = ANONYMOUS;
    if (req.is404) return;
    const access = req.routeOptions.config.access ?? 'admin';
    if (access === 'public') {
      try {
        req.principal = authenticate(ctx, req);
      } catch {
        req.principal = ANONYMOUS;
      }
      return;
    }
    const p = authenticate(ctx, req);
    if (p.kind === 'anonymous') throw new ApiError('unauthenticated');
    req.principal = p;
    if (p.kind === 'session' && !SAFE.has(req.method)) {
      const session = ctx.sessions.get(p.sessionId!);
      const sent = req.headers[CSRF_HEADER];
      if (!session || typeof sent !== 'string' || sent !== session.csrfToken || sent !== req.cookies[CSRF_COOKIE]) {
        ctx.audit.record({ who: p.name, action: `${req.method} ${req.routeOptions.url}`, outcome: 'denied', detail: 'CSRF token missing or wrong', ip: req.ip });
        throw new ApiError('csrf_failed');
      }
    }
    if (access === 'admin' && p.role !== 'admin') {
      ctx.audit.record({ who: p.kind === 'token' ? `token:${p.name}` : p.name, action: `${req.method} ${req.routeOptions.url}`, outcome: 'denied', detail: `role ${p.role}`, ip: req.ip });
      throw new ApiError('forbidden');
    }
  });
}

/** Starts a console session: the HttpOnly session cookie and the readable CSRF cookie. */
export function startSession(ctx: ApiContext, req: FastifyRequest, reply: FastifyReply, user: string): string {
  const { id, session } = ctx.sessions.create(user);
  const secure = req.protocol === 'https';
  reply.setCookie(SESSION_COOKIE, id, { path: '/', httpOnly: true, sameSite: 'strict', secure });
  reply.setCookie(CSRF_COOKIE, session.csrfToken, { path: '/', httpOnly: false, sameSite: 'strict', secure });
  return session.csrfToken;
}

export function endSession(ctx: ApiContext, req: FastifyRequest, reply: FastifyReply): void {
  const sid = req.cookies[SESSION_COOKIE];
  if (sid) ctx.sessions.destroy(sid);
  reply.clearCookie(SESSION_COOKIE, { path: '/' });
  reply.clearCookie(CSRF_COOKIE, { path: '/' });
}
