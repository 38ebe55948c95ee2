/**
 * /api/v1/tokens — API tokens for scripts, cairnctl and Prometheus (a
 * read-only token can scrape /metrics). The token is returned once, at
 * creation; afterwards only its id, name and role are known.
 */
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { RoleSchema } from '../../state/schema.js';
import { type ApiContext } from '../context.js';
import { ApiError } from '../errors.js';
import { Empty, IdParams } from '../schemas.js';

const TokenSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    role: RoleSchema,
    createdBy: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
    expiresAt: Type.Optional(Type.String({ format: 'date-time' })),
    lastUsedAt: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { title: 'ApiToken' },
);

const TokenCreateSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9 ._-]*$' }),
    role: RoleSchema,
    expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
  },
  { additionalProperties: false },
);

export function tokenRoutes(ctx: ApiContext): FastifyPluginAsync {
  return async (app) => {
    const tags = ['tokens'];
    app.get('/tokens', { config: { access: 'admin' }, schema: { summary: 'List API tokens', tags, response: { 200: Type.Object({ items: Type.Array(TokenSchema) }) } } }, async () => ({
      items: ctx.tokens.list(),
    }));

    app.post<{ Body: Static<typeof TokenCreateSchema> }>(
      '/tokens',
      {
        schema: {
          summary: 'Create an API token (shown once)',
          tags,
          body: TokenCreateSchema,
          response: { 201: Type.Object({ token: Type.String({ description: 'send as Authorization: Bearer TOKEN' }), info: TokenSchema }) },
        },
      },
      async (req, reply) => {
        const creator = req.principal.kind === 'token' ? ctx.tokens.list().find((t) => t.id === req.principal.tokenId)?.createdBy : req.principal.name;
        if (!creator) throw new ApiError('forbidden');
        const { name, role, expiresInDays } = req.body;
        const res = await ctx.tokens.create({
          name,
          role,
          createdBy: creator,
          ...(expiresInDays ? { expiresAt: new Date(Date.now() + expiresInDays * 86400_000).toISOString() } : {}),
        });
        ctx.audit.record({ who: req.principal.name, action: 'create token', target: `${res.info.id} (${name}, ${role})`, ip: req.ip });
        return reply.code(201).send(res);
      },
    );

    app.delete<{ Params: Static<typeof IdParams> }>(
      '/tokens/:id',
      { schema: { summary: 'Revoke an API token', tags, params: IdParams, response: { 204: Empty } } },
      async (req, reply) => {
        if (!(await ctx.tokens.revoke(req.params.id))) throw new ApiError('not_found', `token ${JSON.stringify(req.params.id)} does not exist`);
        ctx.audit.record({ who: req.principal.name, action: 'revoke token', target: req.params.id, ip: req.ip });
        return reply.code(204).send();
      },
    );
  };
}
