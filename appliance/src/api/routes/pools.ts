/**
 * /api/v1/pools and /api/v1/volumes — where shares live. A local pool is a
 * directory (unreplicated: the console says so); a gluster pool is a set of
 * bricks with replica/arbiter, built by the gluster driver. Volumes divide
 * a pool. Objects in use by volumes or shares cannot be deleted.
 */
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { GlusterPoolSchema, IdSchema, LocalPoolSchema, VolumeSchema, type Pool, type State } from '../../state/schema.js';
import { change, type ApiContext } from '../context.js';
import { ApiError } from '../errors.js';
import { Empty, IdParams, ListOf, Problems, problemsOf } from '../schemas.js';

const Capacity = Type.Union(
  [Type.Object({ totalBytes: Type.Integer(), usedBytes: Type.Integer(), freeBytes: Type.Integer() }), Type.Null()],
  { description: 'null when the pool is not (yet) available' },
);

export const HealSchema = Type.Union(
  [
    Type.Object(
      {
        pending: Type.Integer({ minimum: 0, description: 'entries waiting for self-heal (files, directories, 64 MiB shards; per replica set the largest brick count, summed)' }),
        perBrick: Type.Array(
          Type.Object({ brick: Type.String({ description: 'host:/path' }), pending: Type.Integer({ minimum: 0 }) }, { additionalProperties: false }),
          { description: 'entries in each reachable brick heal index; bricks that cannot be asked (down) are left out' },
        ),
        ratePerSec: Type.Union([Type.Number({ minimum: 0 }), Type.Null()], { description: 'entries healed per second over the last minute; null until two samples exist' }),
        etaSeconds: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { description: 'seconds left at that rate; null while pending does not fall (e.g. a brick is down)' }),
        sampledAt: Type.String({ format: 'date-time', description: 'when the counts were read (every 5 s while heal is pending)' }),
      },
      { additionalProperties: false },
    ),
    Type.Null(),
  ],
  { description: 'self-heal progress; null when nothing is pending or the pool is not a gluster pool' },
);

export const PoolViewSchema = Type.Union(
  [
    Type.Object({ ...LocalPoolSchema.properties, capacity: Capacity, heal: HealSchema, problems: Problems }),
    Type.Object({ ...GlusterPoolSchema.properties, capacity: Capacity, heal: HealSchema, problems: Problems }),
  ],
  { title: 'Pool' },
);

const PoolCreateSchema = Type.Union(
  [
    Type.Object({ id: IdSchema, kind: Type.Literal('local'), path: LocalPoolSchema.properties.path }, { additionalProperties: false }),
    Type.Object(
      {
        id: IdSchema,
        kind: Type.Literal('gluster'),
        replica: GlusterPoolSchema.properties.replica,
        arbiter: Type.Optional(GlusterPoolSchema.properties.arbiter),
        bricks: GlusterPoolSchema.properties.bricks,
      },
      { additionalProperties: false },
    ),
  ],
  { title: 'PoolCreate' },
);

const VolumeViewSchema = Type.Object({ ...VolumeSchema.properties, problems: Problems }, { title: 'Volume' });
const VolumePatchSchema = Type.Object(
  { quotaBytes: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { description: 'null removes the quota' }) },
  { additionalProperties: false },
);

function findPool(s: State, id: string): Pool {
  const p = s.pools.find((x) => x.id === id);
  if (!p) throw new ApiError('not_found', `pool ${JSON.stringify(id)} does not exist`);
  return p;
}

export function poolRoutes(ctx: ApiContext): FastifyPluginAsync {
  return async (app) => {
    const view = async (p: Pool) => ({
      ...p,
      capacity: (await ctx.poolCapacity?.(p.id).catch(() => undefined)) ?? null,
      heal: p.kind === 'gluster' ? (ctx.poolHeal?.(p.id) ?? null) : null,
      problems: problemsOf(ctx, 'pool', p.id),
    });

    app.get('/pools', { schema: { summary: 'List pools with capacity', tags: ['pools'], response: { 200: ListOf(PoolViewSchema) } } }, async () => ({
      revision: ctx.store.revision,
      items: await Promise.all(ctx.store.state.pools.map(view)),
    }));

    app.get<{ Params: Static<typeof IdParams> }>(
      '/pools/:id',
      { schema: { summary: 'One pool', tags: ['pools'], params: IdParams, response: { 200: PoolViewSchema } } },
      async (req) => view(findPool(ctx.store.state, req.params.id)),
    );

    app.post<{ Body: Static<typeof PoolCreateSchema> }>(
      '/pools',
      { schema: { summary: 'Create a pool', tags: ['pools'], body: PoolCreateSchema, response: { 201: PoolViewSchema } } },
      async (req, reply) => {
        const b = req.body;
        if (ctx.store.state.pools.some((p) => p.id === b.id)) throw new ApiError('already_exists', `pool ${JSON.stringify(b.id)} already exists`, [{ path: 'id', message: 'is already taken' }]);
        const pool: Pool =
          b.kind === 'local'
            ? { id: b.id, kind: 'local', path: b.path, label: 'unreplicated' }
            : { id: b.id, kind: 'gluster', label: 'replicated', replica: b.replica, arbiter: b.arbiter ?? 0, bricks: b.bricks };
        const rev = await change(ctx, req, 'create pool', b.id, (s) => void s.pools.push(pool));
        return reply.code(201).header('cairn-revision', rev.revision).send(await view(findPool(rev.state, b.id)));
      },
    );

    app.delete<{ Params: Static<typeof IdParams> }>(
      '/pools/:id',
      { schema: { summary: 'Delete a pool (refused while volumes or shares use it; data stays)', tags: ['pools'], params: IdParams, response: { 204: Empty } } },
      async (req, reply) => {
        const id = req.params.id;
        const rev = await change(ctx, req, 'delete pool', id, (s) => {
          findPool(s, id);
          const users = [...s.volumes.filter((v) => v.pool === id).map((v) => `volume ${v.id}`), ...s.shares.filter((x) => x.pool === id).map((x) => `share ${x.name}`)];
          if (users.length) throw new ApiError('in_use', `pool ${JSON.stringify(id)} is used by ${users.join(', ')}`);
          s.pools = s.pools.filter((p) => p.id !== id);
        });
        return reply.code(204).header('cairn-revision', rev.revision).send();
      },
    );

    const vtags = ['volumes'];
    const vview = (v: State['volumes'][number]) => ({ ...v, problems: problemsOf(ctx, 'volume', v.id) });
    const findVolume = (s: State, id: string) => {
      const v = s.volumes.find((x) => x.id === id);
      if (!v) throw new ApiError('not_found', `volume ${JSON.stringify(id)} does not exist`);
      return v;
    };

    app.get('/volumes', { schema: { summary: 'List volumes', tags: vtags, response: { 200: ListOf(VolumeViewSchema) } } }, async () => ({
      revision: ctx.store.revision,
      items: ctx.store.state.volumes.map(vview),
    }));

    app.get<{ Params: Static<typeof IdParams> }>(
      '/volumes/:id',
      { schema: { summary: 'One volume', tags: vtags, params: IdParams, response: { 200: VolumeViewSchema } } },
      async (req) => vview(findVolume(ctx.store.state, req.params.id)),
    );

    app.post<{ Body: Static<typeof VolumeSchema> }>(
      '/volumes',
      { schema: { summary: 'Create a volume in a pool', tags: vtags, body: VolumeSchema, response: { 201: VolumeViewSchema } } },
      async (req, reply) => {
        const b = req.body;
        if (ctx.store.state.volumes.some((v) => v.id === b.id)) throw new ApiError('already_exists', `volume ${JSON.stringify(b.id)} already exists`, [{ path: 'id', message: 'is already taken' }]);
        const rev = await change(ctx, req, 'create volume', b.id, (s) => void s.volumes.push({ ...b }));
        return reply.code(201).header('cairn-revision', rev.revision).send(vview(findVolume(rev.state, b.id)));
      },
    );

    app.patch<{ Params: Static<typeof IdParams>; Body: Static<typeof VolumePatchSchema> }>(
      '/volumes/:id',
      { schema: { summary: 'Change a volume quota', tags: vtags, params: IdParams, body: VolumePatchSchema, response: { 200: VolumeViewSchema } } },
      async (req, reply) => {
        const rev = await change(ctx, req, 'change volume', req.params.id, (s) => {
          const v = findVolume(s, req.params.id);
          if (req.body.quotaBytes === null) delete v.quotaBytes;
          else v.quotaBytes = req.body.quotaBytes;
        });
        return reply.header('cairn-revision', rev.revision).send(vview(findVolume(rev.state, req.params.id)));
      },
    );

    app.delete<{ Params: Static<typeof IdParams> }>(
      '/volumes/:id',
      { schema: { summary: 'Delete a volume (refused while shares use it)', tags: vtags, params: IdParams, response: { 204: Empty } } },
      async (req, reply) => {
        const id = req.params.id;
        const rev = await change(ctx, req, 'delete volume', id, (s) => {
          findVolume(s, id);
          const users = s.shares.filter((x) => x.volume === id).map((x) => x.name);
          if (users.length) throw new ApiError('in_use', `volume ${JSON.stringify(id)} is used by share(s) ${users.join(', ')}`);
          s.volumes = s.volumes.filter((v) => v.id !== id);
        });
        return reply.code(204).header('cairn-revision', rev.revision).send();
      },
    );
  };
}
