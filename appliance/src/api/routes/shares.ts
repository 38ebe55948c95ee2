/**
 * /api/v1/shares — a directory in a pool (or volume), exported over NFS
 * and/or SMB. Create takes any subset of the NFS and SMB settings (the rest
 * get defaults); PATCH merges `nfs` and `smb` field by field and replaces
 * `nfs.clients` as a whole list. Deleting a share stops exporting it; its
 * files stay in the pool.
 */
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import {
  DEFAULT_NFS_CLIENT,
  DEFAULT_SMB,
  IdSchema,
  NfsClientSchema,
  RelPath,
  ShareSchema,
  ShareSmbSchema,
  type NfsClient,
  type Share,
  type State,
} from '../../state/schema.js';
import { change, type ApiContext } from '../context.js';
import { ApiError } from '../errors.js';
import { Empty, ListOf, NameParams, Problems, problemsOf } from '../schemas.js';

const NfsClientInput = Type.Partial(NfsClientSchema, { additionalProperties: false });
const NfsInput = Type.Object(
  { enabled: Type.Optional(Type.Boolean()), clients: Type.Optional(Type.Array(NfsClientInput, { maxItems: 256 })) },
  { additionalProperties: false },
);
const SmbInput = Type.Partial(ShareSmbSchema, { additionalProperties: false });

export const ShareCreateSchema = Type.Object(
  {
    name: ShareSchema.properties.name,
    pool: Type.Optional(IdSchema),
    volume: Type.Optional(IdSchema),
    path: Type.Optional(RelPath),
    nfs: Type.Optional(NfsInput),
    smb: Type.Optional(SmbInput),
  },
  { additionalProperties: false, title: 'ShareCreate', description: 'pool defaults to the first pool, path to the share name' },
);

export const SharePatchSchema = Type.Object(
  {
    volume: Type.Optional(Type.Union([IdSchema, Type.Null()])),
    path: Type.Optional(RelPath),
    nfs: Type.Optional(NfsInput),
    smb: Type.Optional(SmbInput),
  },
  { additionalProperties: false, minProperties: 1, title: 'SharePatch' },
);

export const ShareViewSchema = Type.Object(
  { ...ShareSchema.properties, problems: Problems },
  { title: 'Share' },
);

const client = (c: Partial<NfsClient>): NfsClient => ({ ...DEFAULT_NFS_CLIENT, ...c });

export function findShare(s: State, name: string): Share {
  const sh = s.shares.find((x) => x.name.toLowerCase() === name.toLowerCase());
  if (!sh) throw new ApiError('not_found', `share ${JSON.stringify(name)} does not exist`);
  return sh;
}

/** State validation errors about shares.N become paths relative to the request body. */
function relativeTo(index: number, e: unknown): unknown {
  if (e && typeof e === 'object' && 'fields' in e && Array.isArray((e as { fields: unknown }).fields)) {
    const prefix = `shares.${index}.`;
    for (const f of (e as { fields: Array<{ path: string }> }).fields) if (f.path.startsWith(prefix)) f.path = f.path.slice(prefix.length);
  }
  return e;
}

export function sharesRoutes(ctx: ApiContext): FastifyPluginAsync {
  return async (app) => {
    const tags = ['shares'];
    const view = (sh: Share) => ({ ...sh, problems: problemsOf(ctx, 'share', sh.name) });

    app.get('/shares', { schema: { summary: 'List shares', tags, response: { 200: ListOf(ShareViewSchema) } } }, async () => ({
      revision: ctx.store.revision,
      items: ctx.store.state.shares.map(view),
    }));

    app.get<{ Params: Static<typeof NameParams> }>(
      '/shares/:name',
      { schema: { summary: 'One share', tags, params: NameParams, response: { 200: ShareViewSchema } } },
      async (req) => view(findShare(ctx.store.state, req.params.name)),
    );

    app.post<{ Body: Static<typeof ShareCreateSchema> }>(
      '/shares',
      { schema: { summary: 'Create a share', tags, body: ShareCreateSchema, response: { 201: ShareViewSchema } } },
      async (req, reply) => {
        const b = req.body;
        if (ctx.store.state.shares.some((x) => x.name.toLowerCase() === b.name.toLowerCase())) {
          throw new ApiError('already_exists', `share ${JSON.stringify(b.name)} already exists`, [{ path: 'name', message: 'is already taken' }]);
        }
        let index = 0;
        const rev = await change(ctx, req, 'create share', b.name, (s) => {
          const pool = b.pool ?? s.pools[0]?.id;
          if (!pool) throw new ApiError('validation_failed', 'there is no pool yet: create one first', [{ path: 'pool', message: 'is required' }]);
          const share: Share = {
            name: b.name,
            pool,
            ...(b.volume ? { volume: b.volume } : {}),
            path: b.path ?? b.name,
            nfs: { enabled: b.nfs?.enabled ?? false, clients: (b.nfs?.clients ?? (b.nfs?.enabled ? [{}] : [])).map(client) },
            smb: { ...DEFAULT_SMB, ...b.smb },
          };
          index = s.shares.length;
          s.shares.push(share);
        }).catch((e: unknown) => {
          throw relativeTo(index, e);
        });
        return reply.code(201).header('cairn-revision', rev.revision).send(view(findShare(rev.state, b.name)));
      },
    );

    app.patch<{ Params: Static<typeof NameParams>; Body: Static<typeof SharePatchSchema> }>(
      '/shares/:name',
      { schema: { summary: 'Change a share', tags, params: NameParams, body: SharePatchSchema, response: { 200: ShareViewSchema } } },
      async (req, reply) => {
        const b = req.body;
        let index = 0;
        const rev = await change(ctx, req, 'change share', req.params.name, (s) => {
          const sh = findShare(s, req.params.name);
          index = s.shares.indexOf(sh);
          if (b.volume === null) delete sh.volume;
          else if (b.volume !== undefined) sh.volume = b.volume;
          if (b.path !== undefined) sh.path = b.path;
          if (b.nfs) {
            if (b.nfs.enabled !== undefined) sh.nfs.enabled = b.nfs.enabled;
            if (b.nfs.clients) sh.nfs.clients = b.nfs.clients.map(client);
            if (sh.nfs.enabled && sh.nfs.clients.length === 0 && !b.nfs.clients) sh.nfs.clients = [client({})];
          }
          if (b.smb) sh.smb = { ...sh.smb, ...b.smb };
        }).catch((e: unknown) => {
          throw relativeTo(index, e);
        });
        return reply.header('cairn-revision', rev.revision).send(view(findShare(rev.state, req.params.name)));
      },
    );

    app.delete<{ Params: Static<typeof NameParams> }>(
      '/shares/:name',
      { schema: { summary: 'Delete a share (its files stay in the pool)', tags, params: NameParams, response: { 204: Empty } } },
      async (req, reply) => {
        const rev = await change(ctx, req, 'delete share', req.params.name, (s) => {
          const sh = findShare(s, req.params.name);
          s.shares = s.shares.filter((x) => x !== sh);
        });
        return reply.code(204).header('cairn-revision', rev.revision).send();
      },
    );
  };
}
