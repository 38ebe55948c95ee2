// POST /api/v1/pools/:id/replace-brick against a real glusterd (GlusterLab):
// a replica-3 pool loses a brick's disk, the API replaces it with a fresh
// loop disk as a task, the task follows heal to 0, the state and the
// volume list the new brick, and the files written before are on its disk;
// then three disks are added (add-brick) through POST /pools/:id/disks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GlusterLab, replica3 } from './lab.js';
import { buildTestApi } from '../../helpers/api.js';
import { openGfapiBackend } from '../../../src/nfs/backend/gfapi/index.js';
import type { Cred } from '../../../src/nfs/backend/backend.js';
import { glusterBrickOps, type BrickOps } from '../../../src/pool/gluster/brick-ops.js';
import { createLoopDisk, detachLoopDisk, listBlockDevices } from '../../../src/pool/gluster/disks.js';

const root: Cred = { uid: 0, gid: 0, gids: [] };

test('brick tasks: a dead disk replaced through the API (heal followed to 0, data on the new brick), then three disks added', { timeout: 240_000 }, async (t) => {
  const lab = await GlusterLab.start(t);
  const bricks = await replica3(lab, 'tank', 1 << 30, 'general');

  const files = new Map<string, Buffer>();
  const b = await openGfapiBackend({ volume: 'tank', volfileServer: lab.host, logFile: join(lab.dir, 'log', 'gfapi.log') });
  t.after(() => b.close());
  const r = await b.root();
  for (let i = 0; i < 8; i++) {
    const data = randomBytes(64 * 1024);
    const f = await b.create(root, r, `f${i}`, { mode: 'guarded', attrs: { mode: 0o644 } });
    await b.write(root, f.handle, 0n, data, 'file_sync');
    files.set(`f${i}`, data);
  }

  // New disks: blank loop devices (so no wipe is needed); the lab unmounts
  // and detaches them once a task made them bricks, the test otherwise.
  const loops = new Map<string, { file: string; adopted: boolean }>();
  const newDisk = async (name: string) => {
    const file = join(lab.dir, `${name}.img`);
    const dev = await createLoopDisk(file, 1 << 30);
    loops.set(dev, { file, adopted: false });
    return dev;
  };
  t.after(async () => {
    for (const [dev, l] of loops) if (!l.adopted) await detachLoopDisk(dev).catch(() => undefined);
  });
  const device = await newDisk('new-disk');
  const real = glusterBrickOps({ host: lab.host, dataDir: lab.dir, cli: lab.cli, healPollMs: 1000 });
  const ops: BrickOps = {
    ...real,
    prepareBrick: async (dev, id, wipe) => {
      const brick = await real.prepareBrick(dev, id, wipe);
      const l = loops.get(dev)!;
      lab.adopt({ ...brick, loopFile: l.file, name: `${lab.host}:${brick.brickDir}` });
      l.adopted = true;
      return brick;
    },
  };
  const api = await buildTestApi(t, { bricks: ops, listDisks: listBlockDevices });
  const created = await api.admin({
    method: 'POST',
    url: '/api/v1/pools',
    payload: { id: 'tank', kind: 'gluster', replica: 3, bricks: bricks.map((x) => ({ host: lab.host, path: x.brickDir })) },
  });
  assert.equal(created.statusCode, 201, created.body);

  const lost = bricks[1]!;
  const s = await lab.volumes.status('tank', { detail: false });
  await lab.destroyBrick(lost, s.bricks.find((x) => x.brick === lost.name)?.pid ?? null);

  const res = await api.admin({ method: 'POST', url: '/api/v1/pools/tank/replace-brick', payload: { brick: { host: lab.host, path: lost.brickDir }, disk: device } });
  assert.equal(res.statusCode, 202, res.body);
  const id = res.json().id as string;
  const seen: string[] = [];
  let task: { state: string; progress: number; message: string; error?: string };
  let last = '';
  for (;;) {
    task = (await api.reader({ method: 'GET', url: `/api/v1/tasks/${id}` })).json();
    if (task.message !== last) seen.push(`${task.progress.toFixed(2)} ${task.message}`);
    last = task.message;
    if (task.state !== 'running') break;
    await new Promise((res) => setTimeout(res, 500));
  }
  t.diagnostic(`task progress: ${seen.join(' | ')}`);
  assert.equal(task.state, 'done', task.error);
  assert.equal(task.message, 'brick replaced; heal complete');

  const pool = api.ctx.store.state.pools.find((p) => p.id === 'tank');
  assert.ok(pool?.kind === 'gluster');
  const fresh = pool.bricks[1]!;
  assert.equal(fresh.host, lab.host);
  assert.notEqual(fresh.path, lost.brickDir);
  assert.deepEqual((await lab.volumes.info('tank')).bricks.map((x) => x.name), pool.bricks.map((x) => `${x.host}:${x.path}`));
  const heal = await lab.volumes.heal('tank');
  assert.equal(heal.pending, 0);
  for (const [name, data] of files) assert.ok((await readFile(join(fresh.path, name))).equals(data), `${name} re-replicated onto the new brick`);

  // Add three disks: one more replica set through add-brick, recorded in the state.
  const more = [await newDisk('more-1'), await newDisk('more-2'), await newDisk('more-3')];
  const add = await api.admin({ method: 'POST', url: '/api/v1/pools/tank/disks', payload: { disks: more } });
  assert.equal(add.statusCode, 202, add.body);
  const added = await api.ctx.tasks.wait(add.json().id);
  assert.equal(added?.state, 'done', added?.error);
  const grown = api.ctx.store.state.pools.find((p) => p.id === 'tank');
  assert.ok(grown?.kind === 'gluster');
  assert.equal(grown.bricks.length, 6);
  const info = await lab.volumes.info('tank');
  assert.deepEqual(info.bricks.map((x) => x.name), grown.bricks.map((x) => `${x.host}:${x.path}`));
  assert.equal(info.replicaCount, 3);
  // A disk that is now a mounted brick is refused, nothing changes.
  const again = await api.admin({ method: 'POST', url: '/api/v1/pools/tank/disks', payload: { disks: more, wipe: true } });
  assert.equal(again.statusCode, 409, again.body);
  assert.deepEqual(again.json().error.fields.map((f: { path: string }) => f.path), ['disks.0', 'disks.1', 'disks.2']);
});
