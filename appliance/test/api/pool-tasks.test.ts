import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BrickOps } from '../../src/pool/gluster/brick-ops.js';
import { GlusterError } from '../../src/pool/gluster/errors.js';
import type { HealState } from '../../src/pool/gluster/volumes.js';
import { buildTestApi, type TestApi } from '../helpers/api.js';

/** Fakes at the disks/volumes boundary: records every call; disks by path say how they are used. */
function fakeOps(opts: { used?: Record<string, string>; volumes?: string[]; heal?: HealState[]; failAdd?: boolean } = {}) {
  const calls: string[] = [];
  const heals = [...(opts.heal ?? [])];
  const ops: BrickOps = {
    host: 'nas1',
    // Samples some ms apart: two in the same millisecond give no rate (heal.ts), hence no time left.
    healPollMs: 20,
    checkDisk: async (device, wipe) => {
      const what = opts.used?.[device];
      if (what === 'mounted') throw new GlusterError('DISK_IN_USE', `${device} is mounted at /x`);
      if (what && !wipe) throw new GlusterError('DISK_IN_USE', `${device} holds ${what}: pass wipe to erase it`);
    },
    prepareBrick: async (device, id, wipe) => {
      calls.push(`prepare ${device}${wipe ? ' wipe' : ''}`);
      return { id, device, mountPoint: `/data/bricks/${id}`, brickDir: `/data/bricks/${id}/brick` };
    },
    releaseBrick: async (b) => void calls.push(`release ${b.device}`),
    volumeExists: async (v) => (opts.volumes ?? ['tank']).includes(v),
    addBrick: async (v, bricks, o) => {
      calls.push(`add-brick ${v} ${bricks.length}${o.force ? ' force' : ''}`);
      if (opts.failAdd) throw new GlusterError('GLUSTER_FAILED', 'volume add-brick: failed: Brick may be containing or be contained by an existing brick');
    },
    replaceBrick: async (v, a, b) => void calls.push(`replace-brick ${v} ${a} ${b.split(':')[0]}`),
    heal: async () => {
      calls.push('heal');
      return heals.shift() ?? { bricks: [], pending: 0, unreachable: 0 };
    },
  };
  return { ops, calls };
}

const disk = (name: string) => ({ name, path: `/dev/${name}`, sizeBytes: 1 << 30, type: 'disk', model: null, serial: null, fstype: null, pttype: null, mountpoints: [], rotational: false, readOnly: false, children: [] });

async function setup(t: Parameters<typeof buildTestApi>[0], f: ReturnType<typeof fakeOps>): Promise<TestApi> {
  const api = await buildTestApi(t, { bricks: f.ops, listDisks: async () => ['vdb', 'vdc', 'vdd', 'vde', 'vdf', 'vdg'].map(disk) });
  const r = await api.admin({
    method: 'POST',
    url: '/api/v1/pools',
    payload: { id: 'tank', kind: 'gluster', replica: 3, bricks: [1, 2, 3].map((i) => ({ host: 'nas1', path: `/data/bricks/b${i}/brick` })) },
  });
  assert.equal(r.statusCode, 201, r.body);
  return api;
}

const fieldPaths = (res: { json(): { error: { fields: { path: string }[] } } }) => res.json().error.fields.map((f) => f.path);

test('add disks: a task that prepares each disk, add-bricks a replica set, then records the bricks', async (t) => {
  const f = fakeOps({ used: { '/dev/vdc': 'xfs' } });
  const api = await setup(t, f);
  const before = api.ctx.store.revision;
  const res = await api.admin({ method: 'POST', url: '/api/v1/pools/tank/disks', payload: { disks: ['/dev/vdb', '/dev/vdc', '/dev/vdd'], wipe: true } });
  assert.equal(res.statusCode, 202, res.body);
  const task = await api.ctx.tasks.wait(res.json().id);
  assert.equal(task?.state, 'done', task?.error);
  assert.match(task!.message, /added 3 brick/);
  assert.deepEqual(f.calls, ['prepare /dev/vdb wipe', 'prepare /dev/vdc wipe', 'prepare /dev/vdd wipe', 'add-brick tank 3 force']);
  const pool = api.ctx.store.state.pools.find((p) => p.id === 'tank');
  assert.equal(pool?.kind === 'gluster' && pool.bricks.length, 6);
  assert.equal(api.ctx.store.revision, before + 1);
  // Followed through the tasks API like the console does.
  const seen = (await api.reader({ method: 'GET', url: `/api/v1/tasks/${res.json().id}` })).json();
  assert.equal(seen.progress, 1);
});

test('add disks to a pool without a volume yet: only the state changes (the driver creates the volume)', async (t) => {
  const f = fakeOps({ volumes: [] });
  const api = await setup(t, f);
  const res = await api.admin({ method: 'POST', url: '/api/v1/pools/tank/disks', payload: { disks: ['/dev/vde', '/dev/vdf', '/dev/vdg'] } });
  assert.equal(res.statusCode, 202, res.body);
  const task = await api.ctx.tasks.wait(res.json().id);
  assert.equal(task?.state, 'done', task?.error);
  assert.deepEqual(f.calls, ['prepare /dev/vde', 'prepare /dev/vdf', 'prepare /dev/vdg']);
  assert.match(task!.message, /next reconcile/);
});

test('add disks: bad input gets catalog errors with field paths and changes nothing', async (t) => {
  const f = fakeOps({ used: { '/dev/vdc': 'xfs', '/dev/vdd': 'mounted' } });
  const api = await setup(t, f);
  const rev = api.ctx.store.revision;
  const post = (id: string, payload: unknown) => api.admin({ method: 'POST', url: `/api/v1/pools/${id}/disks`, payload: payload as object });

  const ghost = await post('ghost', { disks: ['/dev/vdb'] });
  assert.equal(ghost.statusCode, 404);
  const local = await post('local', { disks: ['/dev/vdb'] });
  assert.equal(local.statusCode, 400);
  assert.deepEqual(fieldPaths(local), ['params.id']);
  const count = await post('tank', { disks: ['/dev/vdb'] });
  assert.equal(count.statusCode, 400);
  assert.deepEqual(fieldPaths(count), ['disks']);
  const unknown = await post('tank', { disks: ['/dev/vdb', '/dev/nope', '/dev/vdb'] });
  assert.equal(unknown.statusCode, 400);
  assert.deepEqual(fieldPaths(unknown), ['disks.1', 'disks.2']);
  const used = await post('tank', { disks: ['/dev/vdb', '/dev/vdc', '/dev/vde'] });
  assert.equal(used.statusCode, 409);
  assert.equal(used.json().error.code, 'disk_in_use');
  assert.deepEqual(fieldPaths(used), ['disks.1']);
  const mounted = await post('tank', { disks: ['/dev/vdb', '/dev/vdd', '/dev/vde'], wipe: true });
  assert.equal(mounted.json().error.code, 'disk_in_use');
  assert.deepEqual(fieldPaths(mounted), ['disks.1']);
  const shape = await post('tank', { disks: ['sdb'], wipe: 'yes' });
  assert.equal(shape.statusCode, 400);
  assert.deepEqual(fieldPaths(shape).sort(), ['disks.0', 'wipe']);
  const reader = await api.reader({ method: 'POST', url: '/api/v1/pools/tank/disks', payload: { disks: ['/dev/vdb', '/dev/vde', '/dev/vdf'] } });
  assert.equal(reader.statusCode, 403);

  assert.deepEqual(f.calls, []);
  assert.equal(api.ctx.tasks.list().length, 0);
  assert.equal(api.ctx.store.revision, rev);
});

test('replace brick: prepares the disk, replaces, updates the state in place, follows heal to 0', async (t) => {
  const brick = (n: number, entries: number | null) => ({ brick: `nas1:/b${n}`, host: 'nas1', path: `/b${n}`, connected: entries !== null, status: entries === null ? 'Transport endpoint is not connected' : 'Connected', entries });
  const f = fakeOps({
    heal: [
      { bricks: [brick(1, 40), brick(2, 40), brick(3, null)], pending: 80, unreachable: 1 },
      { bricks: [brick(1, 10), brick(2, 10), brick(3, 0)], pending: 20, unreachable: 0 },
      { bricks: [brick(1, 0), brick(2, 0), brick(3, 0)], pending: 0, unreachable: 0 },
    ],
  });
  const api = await setup(t, f);
  const progress: string[] = [];
  const orig = api.ctx.tasks.start.bind(api.ctx.tasks);
  api.ctx.tasks.start = (kind, title, by, work) =>
    orig(kind, title, by, (c) => work({ signal: c.signal, progress: (p, m) => (progress.push(`${p.toFixed(2)} ${m}`), c.progress(p, m)) }));
  const res = await api.admin({
    method: 'POST',
    url: '/api/v1/pools/tank/replace-brick',
    payload: { brick: { host: 'nas1', path: '/data/bricks/b2/brick' }, disk: '/dev/vdb' },
  });
  assert.equal(res.statusCode, 202, res.body);
  const task = await api.ctx.tasks.wait(res.json().id);
  assert.equal(task?.state, 'done', task?.error);
  assert.equal(task?.message, 'brick replaced; heal complete');
  assert.deepEqual(f.calls, ['prepare /dev/vdb', 'replace-brick tank nas1:/data/bricks/b2/brick nas1', 'heal', 'heal', 'heal']);
  const pool = api.ctx.store.state.pools.find((p) => p.id === 'tank');
  assert.ok(pool?.kind === 'gluster');
  assert.equal(pool.bricks[0]!.path, '/data/bricks/b1/brick');
  assert.match(pool.bricks[1]!.path, /^\/data\/bricks\/tank-[0-9a-f]{8}\/brick$/);
  assert.equal(pool.bricks[2]!.path, '/data/bricks/b3/brick');
  const heals = progress.filter((p) => p.includes('healing'));
  assert.equal(heals.length, 2);
  // Pending counts an entry once per replica set (the largest brick count of the set).
  assert.match(heals[0]!, /^0\.30 healing: 40 entries pending \(nas1:\/b1: 40, nas1:\/b2: 40, nas1:\/b3: not connected/);
  assert.match(heals[1]!, /^0\.8\d healing: 10 entries pending, about \d+ (s|min)/);
});

test('replace brick with a brick path; bad input refused with field paths; cancel stops heal following', async (t) => {
  const never = { bricks: [{ brick: 'nas1:/x', host: 'nas1', path: '/x', connected: true, status: 'Connected', entries: 5 }], pending: 5, unreachable: 0 };
  const f = fakeOps({ used: { '/dev/vdc': 'ext4' }, heal: Array(10_000).fill(never) });
  const api = await setup(t, f);
  const rev = api.ctx.store.revision;
  const post = (payload: unknown) => api.admin({ method: 'POST', url: '/api/v1/pools/tank/replace-brick', payload: payload as object });
  const old = { host: 'nas1', path: '/data/bricks/b1/brick' };

  const notIn = await post({ brick: { host: 'nas1', path: '/elsewhere' }, disk: '/dev/vdb' });
  assert.equal(notIn.statusCode, 400);
  assert.deepEqual(fieldPaths(notIn), ['brick']);
  const neither = await post({ brick: old });
  assert.deepEqual(fieldPaths(neither), ['disk']);
  const taken = await post({ brick: old, newBrick: { host: 'nas1', path: '/data/bricks/b3/brick' } });
  assert.deepEqual(fieldPaths(taken), ['newBrick']);
  const used = await post({ brick: old, disk: '/dev/vdc' });
  assert.equal(used.statusCode, 409);
  assert.deepEqual(fieldPaths(used), ['disk']);
  const unknownDisk = await post({ brick: old, disk: '/dev/zzz' });
  assert.deepEqual(fieldPaths(unknownDisk), ['disk']);
  assert.equal((await api.admin({ method: 'POST', url: '/api/v1/pools/local/replace-brick', payload: { brick: old, disk: '/dev/vdb' } })).statusCode, 400);
  assert.deepEqual(f.calls, []);
  assert.equal(api.ctx.store.revision, rev);

  const res = await post({ brick: old, newBrick: { host: 'nas2', path: '/data/bricks/n1/brick' } });
  assert.equal(res.statusCode, 202, res.body);
  const id = res.json().id;
  // One brick task per pool at a time.
  const again = await api.admin({ method: 'POST', url: '/api/v1/pools/tank/disks', payload: { disks: ['/dev/vdb', '/dev/vdd', '/dev/vde'] } });
  assert.equal(again.statusCode, 409);
  while (!(f.calls as string[]).includes('heal')) await new Promise((r) => setTimeout(r, 5));
  assert.equal((await api.admin({ method: 'POST', url: `/api/v1/tasks/${id}/cancel` })).statusCode, 202);
  const task = await api.ctx.tasks.wait(id);
  assert.equal(task?.state, 'cancelled');
  assert.deepEqual((f.calls as string[]).slice(0, 1), ['replace-brick tank nas1:/data/bricks/b1/brick nas2']);
  const pool = api.ctx.store.state.pools.find((p) => p.id === 'tank');
  assert.ok(pool?.kind === 'gluster');
  assert.deepEqual(pool.bricks[0], { host: 'nas2', path: '/data/bricks/n1/brick' });
});

test('add disks: when Gluster refuses add-brick the task fails with its words, the new bricks are unmounted, the state is unchanged', async (t) => {
  const f = fakeOps({ failAdd: true });
  const api = await setup(t, f);
  const rev = api.ctx.store.revision;
  const res = await api.admin({ method: 'POST', url: '/api/v1/pools/tank/disks', payload: { disks: ['/dev/vdb', '/dev/vdc', '/dev/vdd'] } });
  assert.equal(res.statusCode, 202, res.body);
  const task = await api.ctx.tasks.wait(res.json().id);
  assert.equal(task?.state, 'failed');
  assert.match(task!.error!, /add-brick: failed: Brick may be/);
  assert.deepEqual(f.calls.slice(3), ['add-brick tank 3 force', 'release /dev/vdb', 'release /dev/vdc', 'release /dev/vdd']);
  assert.equal(api.ctx.store.revision, rev);
  // The pool is free again for the next try.
  const again = await api.admin({ method: 'POST', url: '/api/v1/pools/tank/disks', payload: { disks: ['/dev/vdb', '/dev/vdc', '/dev/vdd'] } });
  assert.equal(again.statusCode, 202);
  await api.ctx.tasks.wait(again.json().id);
});

test('first boot: an empty gluster pool, then its disks through the task (the driver creates the volume)', async (t) => {
  const f = fakeOps({ volumes: [] });
  const api = await setup(t, f);
  const pool = await api.admin({ method: 'POST', url: '/api/v1/pools', payload: { id: 'data', kind: 'gluster', replica: 2, bricks: [] } });
  assert.equal(pool.statusCode, 201, pool.body);
  const res = await api.admin({ method: 'POST', url: '/api/v1/pools/data/disks', payload: { disks: ['/dev/vdb', '/dev/vdc'], wipe: true } });
  assert.equal(res.statusCode, 202, res.body);
  const task = await api.ctx.tasks.wait(res.json().id);
  assert.equal(task?.state, 'done', task?.error);
  const data = api.ctx.store.state.pools.find((p) => p.id === 'data');
  assert.ok(data?.kind === 'gluster');
  assert.deepEqual(data.bricks.map((b) => b.host), ['nas1', 'nas1']);
  assert.deepEqual(f.calls, ['prepare /dev/vdb wipe', 'prepare /dev/vdc wipe']);
});
