/**
 * /api/v1/setup — first boot: create the admin with the one-time setup token.
 * /api/v1/sessions — console login (public, rate limited), logout, and who am I.
 *
 * Failed logins count per client address and per user name (auth/rate-limit.ts);
 * past the limit the answer is 429 with Retry-After, whatever the password.
 * A missing user costs the same scrypt as a wrong password.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { DUMMY_HASH, hashPassword, MIN_PASSWORD_LENGTH, ntHash, verifyPassword } from '../../auth/password.js';
import { RoleSchema, SettingsSchema } from '../../state/schema.js';
import { type ApiContext } from '../context.js';
import { ApiError } from '../errors.js';
import { Empty } from '../schemas.js';
import { endSession, startSession } from '../plugins/auth.js';
import { enabledAdmins } from './users.js';

export const ADMIN_USER = 'admin';

const SessionSchema = Type.Object(
  {
    user: Type.Object({ name: Type.String(), role: RoleSchema }),
    via: Type.Union([Type.Literal('session'), Type.Literal('token')]),
    csrfToken: Type.Optional(Type.String({ description: 'send it back in X-CSRF-Token on POST/PATCH/PUT/DELETE' })),
  },
  { title: 'Session' },
);

const LoginSchema = Type.Object(
  { username: Type.String({ minLength: 1, maxLength: 64 }), password: Type.String({ minLength: 1, maxLength: 256 }) },
  { additionalProperties: false },
);

const PasswordChangeSchema = Type.Object(
  {
    currentPassword: Type.String({ minLength: 1, maxLength: 256 }),
    newPassword: Type.String({ minLength: MIN_PASSWORD_LENGTH, maxLength: 256, description: `at least ${MIN_PASSWORD_LENGTH} characters` }),
  },
  { additionalProperties: false },
);

const SetupSchema = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: 128 }),
    password: Type.String({ minLength: MIN_PASSWORD_LENGTH, maxLength: 256 }),
    applianceName: Type.Optional(SettingsSchema.properties.applianceName),
  },
  { additionalProperties: false },
);

function limited(ctx: ApiContext, keys: string[]): void {
  const wait = Math.max(...keys.map((k) => ctx.loginLimiter.retryAfterMs(k)));
  if (wait > 0) {
    const err = new ApiError('rate_limited', `too many failed attempts: retry in ${Math.ceil(wait / 1000)} s`, [], { 'retry-after': String(Math.ceil(wait / 1000)) });
    throw err;
  }
}

export function sessionRoutes(ctx: ApiContext): FastifyPluginAsync {
  return async (app) => {
    const tags = ['sessions'];

    app.get(
      '/setup',
      {
        config: { access: 'public' },
        schema: { summary: 'Whether first-boot setup is still needed', tags, response: { 200: Type.Object({ needed: Type.Boolean() }) } },
      },
      async () => ({ needed: enabledAdmins(ctx.store.state) === 0 && ctx.setup.pending }),
    );

    app.post<{ Body: Static<typeof SetupSchema> }>(
      '/setup',
      {
        config: { access: 'public' },
        schema: { summary: 'First boot: set the admin password with the setup token; logs in', tags, body: SetupSchema, response: { 201: SessionSchema } },
      },
      async (req, reply) => {
        const ipKey = `ip:${req.ip}`;
        limited(ctx, [ipKey]);
        if (enabledAdmins(ctx.store.state) > 0 || !ctx.setup.pending) throw new ApiError('setup_done');
        if (!ctx.setup.verify(req.body.token)) {
          ctx.loginLimiter.fail(ipKey);
          ctx.audit.record({ who: 'anonymous', action: 'setup', outcome: 'denied', ip: req.ip, detail: 'wrong setup token' });
          throw new ApiError('setup_token_invalid');
        }
        const passwordHash = await hashPassword(req.body.password, ctx.scrypt);
        const rev = await ctx.store.update('setup', 'first-boot setup: create admin', (s) => {
          if (enabledAdmins(s) > 0) throw new ApiError('setup_done');
          const existing = s.users.find((u) => u.name === ADMIN_USER);
          const admin = { name: ADMIN_USER, uid: existing?.uid ?? 1000, fullName: 'Administrator', role: 'admin' as const, passwordHash, ntHash: ntHash(req.body.password), enabled: true };
          s.users = [...s.users.filter((u) => u.name !== ADMIN_USER), admin];
          if (req.body.applianceName) s.settings.applianceName = req.body.applianceName;
        });
        await ctx.setup.consume();
        ctx.audit.record({ who: 'setup', action: 'first-boot setup', target: ADMIN_USER, revision: rev.revision, ip: req.ip });
        const csrfToken = startSession(ctx, req, reply, ADMIN_USER);
        return reply.code(201).send({ user: { name: ADMIN_USER, role: 'admin' }, via: 'session', csrfToken });
      },
    );

    app.post<{ Body: Static<typeof LoginSchema> }>(
      '/sessions',
      {
        config: { access: 'public' },
        schema: { summary: 'Log in (console): sets the session and CSRF cookies', tags, body: LoginSchema, response: { 200: SessionSchema } },
      },
      async (req, reply) => {
        const { username, password } = req.body;
        const keys = [`ip:${req.ip}`, `user:${username}`];
        limited(ctx, keys);
        const user = ctx.store.state.users.find((u) => u.name === username);
        const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH);
        if (!user || !ok || !user.enabled || !user.role) {
          for (const k of keys) ctx.loginLimiter.fail(k);
          ctx.audit.record({ who: username, action: 'login', outcome: 'denied', ip: req.ip });
          throw new ApiError('invalid_credentials');
        }
        ctx.loginLimiter.reset(`user:${username}`);
        ctx.audit.record({ who: username, action: 'login', ip: req.ip });
        const csrfToken = startSession(ctx, req, reply, user.name);
        return { user: { name: user.name, role: user.role }, via: 'session', csrfToken };
      },
    );

    app.get('/sessions/me', { schema: { summary: 'Who is calling', tags, response: { 200: SessionSchema } } }, async (req: FastifyRequest) => {
      const p = req.principal;
      const csrfToken = p.kind === 'session' ? ctx.sessions.get(p.sessionId!)?.csrfToken : undefined;
      return { user: { name: p.name, role: p.role! }, via: p.kind === 'token' ? 'token' : 'session', ...(csrfToken ? { csrfToken } : {}) };
    });

    app.post<{ Body: Static<typeof PasswordChangeSchema> }>(
      '/sessions/me/password',
      {
        config: { access: 'read' },
        schema: {
          summary: 'Change your own password (console session; any role); ends your other sessions',
          tags,
          body: PasswordChangeSchema,
          response: { 200: SessionSchema },
        },
      },
      async (req, reply) => {
        const p = req.principal;
        if (p.kind !== 'session') throw new ApiError('forbidden', 'log in to the console to change your password (API tokens have no password)');
        const key = `user:${p.name}`;
        limited(ctx, [key]);
        const user = ctx.store.state.users.find((u) => u.name === p.name);
        if (!user || !(await verifyPassword(req.body.currentPassword, user.passwordHash))) {
          ctx.loginLimiter.fail(key);
          ctx.audit.record({ who: p.name, action: 'change own password', outcome: 'denied', ip: req.ip });
          throw new ApiError('invalid_credentials', 'the current password is wrong', [{ path: 'currentPassword', message: 'is wrong' }]);
        }
        const passwordHash = await hashPassword(req.body.newPassword, ctx.scrypt);
        const rev = await ctx.store.update(p.name, `change own password ${p.name}`, (s) => {
          const u = s.users.find((x) => x.name === p.name);
          if (!u) throw new ApiError('not_found', 'your user no longer exists');
          u.passwordHash = passwordHash;
          u.ntHash = ntHash(req.body.newPassword);
        });
        ctx.audit.record({ who: p.name, action: 'change own password', target: p.name, revision: rev.revision, ip: req.ip });
        ctx.sessions.destroyUser(p.name);
        const csrfToken = startSession(ctx, req, reply, p.name);
        return { user: { name: p.name, role: p.role! }, via: 'session', csrfToken };
      },
    );

    app.delete(
      '/sessions',
      { config: { access: 'read' }, schema: { summary: 'Log out (ends this console session)', tags, response: { 204: Empty } } },
      async (req, reply) => {
        endSession(ctx, req, reply);
        ctx.audit.record({ who: req.principal.name, action: 'logout', ip: req.ip });
        return reply.code(204).send();
      },
    );
  };
}
