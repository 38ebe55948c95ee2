/**
 * /api/v1/status (what the reconciler did and could not do), /api/v1/reconcile
 * (run a pass now, as a task), /api/v1/tasks (long work with progress),
 * /api/v1/disks (block devices, listed by pool/gluster/disks.ts), and /metrics (Prometheus; a read-only
 * token is enough).
 */
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { type ApiContext, whoOf } from '../context.js';
import { ApiError } from '../errors.js';
import { IdParams, ProblemSchema } from '../schemas.js';

const DriverStatusSchema = Type.Object({
  name: Type.String(),
  ok: Type.Boolean(),
  summary: Type.Optional(Type.String()),
  error: Type.Optional(Type.String()),
  problems: Type.Array(Type.Object({ objectKind: Type.String(), objectId: Type.String(), message: Type.String() })),
  durationMs: Type.Integer(),
  finishedAt: Type.String({ format: 'date-time' }),
});

const StatusSchema = Type.Object(
  {
    revision: Type.Integer({ description: 'current desired-state revision' }),
    reconcile: Type.Object({
      phase: Type.Union([Type.Literal('idle'), Type.Literal('running'), Type.Literal('waiting-retry'), Type.Literal('stopped'), Type.Literal('off')]),
      appliedRevision: Type.Union([Type.Integer(), Type.Null()]),
      lastRunAt: Type.Union([Type.String(), Type.Null()]),
      nextRetryAt: Type.Union([Type.String(), Type.Null()]),
      attempt: Type.Integer(),
      drivers: Type.Array(DriverStatusSchema),
      problems: Type.Array(ProblemSchema),
    }),
  },
  { title: 'Status' },
);

export const TaskSchema = Type.Object(
  {
    id: Type.String(),
    kind: Type.String(),
    title: Type.String(),
    state: Type.Union([Type.Literal('running'), Type.Literal('done'), Type.Literal('failed'), Type.Literal('cancelled')]),
    progress: Type.Number({ minimum: 0, maximum: 1 }),
    message: Type.String(),
    startedBy: Type.String(),
    startedAt: Type.String({ format: 'date-time' }),
    endedAt: Type.Optional(Type.String({ format: 'date-time' })),
    error: Type.Optional(Type.String()),
  },
  { title: 'Task' },
);

const DiskFields = {
  name: Type.String(),
  path: Type.String(),
  sizeBytes: Type.Integer(),
  type: Type.String({ description: 'lsblk TYPE: disk, part, loop, …' }),
  fstype: Type.Union([Type.String(), Type.Null()]),
  pttype: Type.Union([Type.String(), Type.Null()]),
  mountpoints: Type.Array(Type.String()),
  model: Type.Union([Type.String(), Type.Null()]),
  serial: Type.Union([Type.String(), Type.Null()]),
  rotational: Type.Boolean(),
  readOnly: Type.Boolean(),
};
const DiskSchema = Type.Object(
  { ...DiskFields, children: Type.Array(Type.Object({ ...DiskFields }), { description: 'partitions' }) },
  { title: 'Disk' },
);

export function systemRoutes(ctx: ApiContext): FastifyPluginAsync {
  return async (app) => {
    app.get('/status', { schema: { summary: 'Reconcile status: per driver and per object problems', tags: ['system'], response: { 200: StatusSchema } } }, async () => {
      const r = ctx.reconciler?.status();
      return {
        revision: ctx.store.revision,
        reconcile: r ?? { phase: 'off', appliedRevision: null, lastRunAt: null, nextRetryAt: null, attempt: 0, drivers: [], problems: [] },
      };
    });

    app.post('/reconcile', { schema: { summary: 'Reconcile now (a task)', tags: ['system'], response: { 202: TaskSchema } } }, async (req, reply) => {
      const rec = ctx.reconciler;
      if (!rec) throw new ApiError('unavailable', 'the reconciler is not running');
      const task = ctx.tasks.start('reconcile', 'Reconcile all components', whoOf(req), async (t) => {
        t.progress(0.1, 'reconciling');
        await rec.trigger();
        const n = rec.status().problems.length;
        return n ? `${n} problem(s) remain` : 'all components match the desired state';
      });
      return reply.code(202).send(task);
    });

    app.get('/tasks', { schema: { summary: 'Tasks, newest first', tags: ['tasks'], response: { 200: Type.Object({ items: Type.Array(TaskSchema) }) } } }, async () => ({
      items: ctx.tasks.list(),
    }));

    app.get<{ Params: Static<typeof IdParams> }>(
      '/tasks/:id',
      { schema: { summary: 'One task with its progress', tags: ['tasks'], params: IdParams, response: { 200: TaskSchema } } },
      async (req) => {
        const t = ctx.tasks.get(req.params.id);
        if (!t) throw new ApiError('not_found', `task ${JSON.stringify(req.params.id)} does not exist`);
        return t;
      },
    );

    app.post<{ Params: Static<typeof IdParams> }>(
      '/tasks/:id/cancel',
      { schema: { summary: 'Ask a running task to stop', tags: ['tasks'], params: IdParams, response: { 202: TaskSchema } } },
      async (req, reply) => {
        const t = ctx.tasks.cancel(req.params.id);
        if (!t) throw new ApiError('not_found', `task ${JSON.stringify(req.params.id)} does not exist`);
        ctx.audit.record({ who: whoOf(req), action: 'cancel task', target: req.params.id, ip: req.ip });
        return reply.code(202).send(t);
      },
    );

    app.get('/disks', { schema: { summary: 'Block devices (lsblk)', tags: ['disks'], response: { 200: Type.Object({ items: Type.Array(DiskSchema) }) } } }, async () => {
      try {
        return { items: (await ctx.listDisks()).filter((d) => d.type === 'disk' || d.type === 'loop') };
      } catch (e) {
        throw new ApiError('unavailable', `cannot list disks: ${(e as Error).message}`);
      }
    });
  };
}

/** GET /metrics at the root, as Prometheus expects. */
export function metricsRoute(ctx: ApiContext): FastifyPluginAsync {
  return async (app) => {
    app.get(
      '/metrics',
      {
        config: { access: 'read' },
        schema: { summary: 'Prometheus metrics (text exposition format)', tags: ['system'], produces: ['text/plain'], response: { 200: Type.String() } },
      },
      async (_req, reply) => {
        ctx.metrics.stateRevision.set(ctx.store.revision);
        // Capacity is read at scrape time, so it is never older than the scrape.
        await Promise.all(
          ctx.store.state.pools.map(async (p) => {
            const c = await ctx.poolCapacity?.(p.id).catch(() => undefined);
            if (!c) return;
            ctx.metrics.poolCapacityBytes.set({ pool: p.id }, c.totalBytes);
            ctx.metrics.poolUsedBytes.set({ pool: p.id }, c.usedBytes);
          }),
        );
        return reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
      },
    );
  };
}
