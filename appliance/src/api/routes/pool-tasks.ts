/**
 * Changing a gluster pool's bricks, as tasks (202 + the task; follow it at
 * /api/v1/tasks/:id):
 *
 * - POST /pools/:id/disks: each disk becomes a brick (XFS), then the
 *   bricks join the pool by whole replica sets.
 * - POST /pools/:id/replace-brick: a failed brick is swapped for a new
 *   disk (or a prepared brick path), then the task follows self-heal until
 *   no entry is pending.
 *
 * Gluster first, then the state: the pool driver never changes a volume's
 * bricks (it only reports a mismatch), so these tasks run add-brick and
 * replace-brick themselves and record the new brick list once Gluster
 * agreed. A pool whose volume does not exist yet (no bricks: first boot)
 * only gets its state changed; the driver then creates the volume.
 *
 * Everything a request can get wrong is checked before the task starts
 * (pool, disks, the brick) and answered with field paths; nothing is
 * touched then. Disks are erased only when the body says `wipe: true`.
 * A task that fails or is cancelled before Gluster took its new bricks
 * unmounts them again (the disks stay formatted, holding nothing).
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { BrickSchema, type GlusterPool, type State } from '../../state/schema.js';
import type { BrickOps } from '../../pool/gluster/brick-ops.js';
import type { Brick } from '../../pool/gluster/disks.js';
import { formatSeconds, needsForce, volumeNameOf } from '../../pool/gluster/driver.js';
import { HealTracker } from '../../pool/gluster/heal.js';
import { GlusterError } from '../../pool/gluster/errors.js';
import type { FieldError } from '../../state/validate.js';
import { whoOf, type ApiContext } from '../context.js';
import { ApiError } from '../errors.js';
import { IdParams } from '../schemas.js';
import { TaskSchema } from './system.js';

const DevicePath = Type.String({ pattern: '^/dev/[A-Za-z0-9/_.-]+$', maxLength: 255, description: 'a whole disk, e.g. /dev/sdb' });
const Wipe = Type.Optional(Type.Boolean({ default: false, description: 'erase filesystems and partition tables on the disk(s); without it such disks are refused' }));

const AddDisksSchema = Type.Object(
  { disks: Type.Array(DevicePath, { minItems: 1, maxItems: 64 }), wipe: Wipe },
  { additionalProperties: false, title: 'PoolAddDisks' },
);

const ReplaceBrickSchema = Type.Object(
  {
    brick: BrickSchema,
    disk: Type.Optional(DevicePath),
    newBrick: Type.Optional({ ...BrickSchema, description: 'an already prepared, empty brick directory (instead of disk)' }),
    wipe: Wipe,
  },
  { additionalProperties: false, title: 'PoolReplaceBrick', description: 'the failed brick, and either a disk to prepare as its replacement or a brick path' },
);

type BrickRef = { host: string; path: string; fsUuid?: string };
/** XFS's smallest filesystem. */
const MIN_BRICK_BYTES = 300 * 2 ** 20;
const brickName = (b: BrickRef) => `${b.host}:${b.path}`;

function glusterPool(s: State, id: string): GlusterPool {
  const p = s.pools.find((x) => x.id === id);
  if (!p) throw new ApiError('not_found', `pool ${JSON.stringify(id)} does not exist`);
  if (p.kind !== 'gluster') {
    throw new ApiError('validation_failed', `pool ${JSON.stringify(id)} is a local pool: it has no bricks`, [{ path: 'params.id', message: 'is a local pool, not a gluster pool' }]);
  }
  return p;
}

/** A brick id for DATA_DIR/bricks/<id>: the pool id and a random suffix. */
const brickId = (pool: string) => `${pool.replace(/_/g, '-').slice(0, 40)}-${randomBytes(4).toString('hex')}`;

export function poolTaskRoutes(ctx: ApiContext): FastifyPluginAsync {
  /** Pools with a brick task running: one at a time per pool. */
  const busy = new Set<string>();

  const opsOf = (): BrickOps => {
    if (!ctx.bricks) throw new ApiError('unavailable', 'this cairnd runs without the Gluster pool driver');
    return ctx.bricks;
  };

  /** Every disk checked (known, whole, not in use unless wiped); all problems at once. */
  async function checkDisks(ops: BrickOps, disks: { path: string; device: string }[], wipe: boolean): Promise<void> {
    const known = new Map((await ctx.listDisks()).map((d) => [d.path, d.sizeBytes]));
    const bad: FieldError[] = [];
    let inUse = false;
    const seen = new Set<string>();
    for (const { path, device } of disks) {
      if (seen.has(device)) {
        bad.push({ path, message: 'is listed twice' });
        continue;
      }
      seen.add(device);
      if (!known.has(device)) {
        bad.push({ path, message: 'is not a disk of this appliance' });
        continue;
      }
      try {
        await ops.checkDisk(device, wipe);
        // mkfs.xfs refuses less, with a usage dump instead of a reason.
        if (known.get(device)! < MIN_BRICK_BYTES) bad.push({ path, message: `is too small (${Math.floor(known.get(device)! / 2 ** 20)} MiB): a brick needs at least 300 MiB` });
      } catch (e) {
        if (!(e instanceof GlusterError)) throw e;
        if (e.code === 'DISK_IN_USE') inUse = true;
        else if (e.code !== 'DISK_NOT_FOUND' && e.code !== 'INVALID_ARGUMENT') throw e;
        bad.push({ path, message: e.message });
      }
    }
    if (!bad.length) return;
    const onlyInUse = inUse && bad.every((f) => /in use|mounted|holds|read-only/.test(f.message));
    throw onlyInUse
      ? new ApiError('disk_in_use', `${bad.map((f) => f.message).join('; ')}`, bad)
      : new ApiError('validation_failed', 'the request is not valid', bad);
  }

  function claim(pool: string): void {
    if (busy.has(pool)) throw new ApiError('in_use', `a brick task is already running on pool ${JSON.stringify(pool)}: wait for it or cancel it`);
    busy.add(pool);
  }

  return async (app) => {
    app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof AddDisksSchema> }>(
      '/pools/:id/disks',
      {
        schema: {
          summary: 'Add disks to a gluster pool as bricks (a task)',
          description: 'Each disk is formatted as a brick; the bricks join the pool in whole replica sets (add-brick). Disks holding data are refused unless wipe is true.',
          tags: ['pools'],
          params: IdParams,
          body: AddDisksSchema,
          response: { 202: TaskSchema },
        },
      },
      async (req, reply) => {
        const id = req.params.id;
        const pool = glusterPool(ctx.store.state, id);
        const ops = opsOf();
        const { disks } = req.body;
        const wipe = req.body.wipe === true;
        const set = pool.replica + pool.arbiter;
        if (disks.length % set !== 0) {
          const how = pool.arbiter ? 'replica 2 + arbiter takes disks in threes' : `replica ${pool.replica} takes disks in sets of ${set}`;
          throw new ApiError('validation_failed', `${how}: give a multiple of ${set} disks`, [{ path: 'disks', message: `must hold a multiple of ${set} disks` }]);
        }
        await checkDisks(ops, disks.map((device, i) => ({ path: `disks.${i}`, device })), wipe);
        claim(id);
        const who = whoOf(req);
        const task = ctx.tasks.start('pool-add-disks', `Add ${disks.length} disk(s) to pool ${id}`, who, async (t) => {
          const prepared: Brick[] = [];
          try {
            const steps = disks.length + 1;
            const bricks: BrickRef[] = [];
            let exists: boolean;
            try {
              for (const [i, device] of disks.entries()) {
                t.signal.throwIfAborted();
                t.progress(i / steps, `preparing ${device} (${i + 1} of ${disks.length})`);
                const b = await ops.prepareBrick(device, brickId(id), wipe);
                prepared.push(b);
                bricks.push({ host: ops.host, path: b.brickDir, ...(b.fsUuid ? { fsUuid: b.fsUuid } : {}) });
              }
              t.signal.throwIfAborted();
              const volume = volumeNameOf(pool);
              exists = await ops.volumeExists(volume);
              if (exists) {
                t.progress(disks.length / steps, `adding ${bricks.length} brick(s) to volume ${volume}`);
                await ops.addBrick(volume, bricks.map(brickName), { force: needsForce({ ...pool, bricks }) });
              }
            } catch (e) {
              for (const b of prepared) await ops.releaseBrick(b).catch(() => undefined);
              throw e;
            }
            const rev = await ctx.store.update(who, `add disks to pool ${id}`, (s) => {
              const p = s.pools.find((x) => x.id === id);
              if (!p || p.kind !== 'gluster') throw new Error(`pool ${id} left the state meanwhile`);
              p.bricks.push(...bricks);
            }).catch((e: unknown) => {
              throw new Error(`${exists ? 'Gluster added the bricks but ' : ''}the state could not record them (${(e as Error).message}): ${bricks.map(brickName).join(', ')}`);
            });
            ctx.audit.record({ who, action: 'add disks to pool', target: id, revision: rev.revision });
            return exists
              ? `added ${bricks.length} brick(s) to pool ${id}`
              : `pool ${id} now lists ${bricks.length} brick(s); its volume is created by the next reconcile`;
          } finally {
            busy.delete(id);
          }
        });
        return reply.code(202).send(task);
      },
    );

    app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof ReplaceBrickSchema> }>(
      '/pools/:id/replace-brick',
      {
        schema: {
          summary: 'Replace a failed brick of a gluster pool, then follow self-heal (a task)',
          description: 'Give the failed brick and either `disk` (formatted as the new brick; wipe: true to erase what it holds) or `newBrick` (an empty brick directory). The task ends when no entry is pending heal.',
          tags: ['pools'],
          params: IdParams,
          body: ReplaceBrickSchema,
          response: { 202: TaskSchema },
        },
      },
      async (req, reply) => {
        const id = req.params.id;
        const pool = glusterPool(ctx.store.state, id);
        const ops = opsOf();
        const { brick: old, disk, newBrick } = req.body;
        const wipe = req.body.wipe === true;
        const bad: FieldError[] = [];
        const index = pool.bricks.findIndex((b) => b.host === old.host && b.path === old.path);
        if (index < 0) bad.push({ path: 'brick', message: `is not a brick of pool ${id}` });
        if ((disk === undefined) === (newBrick === undefined)) bad.push({ path: 'disk', message: 'give either disk or newBrick' });
        if (newBrick) {
          const taken = ctx.store.state.pools.some((p) => p.kind === 'gluster' && p.bricks.some((b) => b.host === newBrick.host && b.path === newBrick.path));
          if (taken) bad.push({ path: 'newBrick', message: 'is already a brick of a pool' });
        }
        if (bad.length) throw new ApiError('validation_failed', 'the request is not valid', bad);
        if (disk !== undefined) await checkDisks(ops, [{ path: 'disk', device: disk }], wipe);
        claim(id);
        const who = whoOf(req);
        const task = ctx.tasks.start('pool-replace-brick', `Replace brick ${brickName(old)} of pool ${id}`, who, async (t) => {
          const volume = volumeNameOf(pool);
          let replaced: BrickRef;
          try {
            let prepared: Brick | undefined;
            if (disk !== undefined) {
              t.progress(0.05, `preparing ${disk}`);
              prepared = await ops.prepareBrick(disk, brickId(id), wipe);
              replaced = { host: ops.host, path: prepared.brickDir, ...(prepared.fsUuid ? { fsUuid: prepared.fsUuid } : {}) };
            } else {
              replaced = newBrick!;
            }
            try {
              t.signal.throwIfAborted();
              t.progress(0.15, `replacing ${brickName(old)} with ${brickName(replaced)}`);
              await ops.replaceBrick(volume, brickName(old), brickName(replaced));
            } catch (e) {
              if (prepared) await ops.releaseBrick(prepared).catch(() => undefined);
              throw e;
            }
            const rev = await ctx.store.update(who, `replace brick of pool ${id}`, (s) => {
              const p = s.pools.find((x) => x.id === id);
              const i = p?.kind === 'gluster' ? p.bricks.findIndex((b) => b.host === old.host && b.path === old.path) : -1;
              if (!p || p.kind !== 'gluster' || i < 0) throw new Error(`pool ${id} or its brick ${brickName(old)} left the state meanwhile`);
              p.bricks[i] = replaced;
            }).catch((e: unknown) => {
              throw new Error(`Gluster replaced the brick with ${brickName(replaced)} but the state could not record it (${(e as Error).message})`);
            });
            ctx.audit.record({ who, action: 'replace brick', target: `${id} ${brickName(old)}`, revision: rev.revision });
          } finally {
            busy.delete(id);
          }
          return followHeal(ops, volume, pool.replica + pool.arbiter, t);
        });
        return reply.code(202).send(task);
      },
    );
  };
}

/**
 * Reads `heal info` until no brick has entries pending and every brick answers.
 * Progress runs from 0.3 to 1 as the pending count falls from the highest
 * seen; the message gives entries pending per brick and, once heal moves,
 * the time left (heal.ts: rate from successive samples).
 */
async function followHeal(ops: BrickOps, volume: string, setSize: number, t: { progress(f: number, m?: string): void; signal: AbortSignal }): Promise<string> {
  let most = 0;
  const tracker = new HealTracker();
  for (;;) {
    t.signal.throwIfAborted();
    // `heal info` (its own client, exact) rather than the self-heal daemon's
    // heal-count: right after replace-brick the daemon restarts with the new
    // graph, and the end of the task must not depend on its view.
    const bricks = (await ops.heal(volume)).bricks.map((b) => ({ brick: b.brick, connected: b.connected, entries: b.entries }));
    const h = tracker.add(bricks, setSize);
    most = Math.max(most, h.pending);
    if (h.pending === 0 && bricks.every((b) => b.connected)) return `brick replaced; heal complete`;
    const per = bricks.map((b) => `${b.brick}: ${b.entries ?? (b.connected ? '?' : 'not connected')}`).join(', ');
    const eta = h.etaSeconds === null || h.pending === 0 ? '' : `, about ${formatSeconds(h.etaSeconds)} left`;
    t.progress(0.3 + 0.7 * (most ? 1 - h.pending / most : 0), `healing: ${h.pending} entr${h.pending === 1 ? 'y' : 'ies'} pending${eta} (${per})`);
    await sleep(ops.healPollMs ?? 4000, undefined, { signal: t.signal });
  }
}
