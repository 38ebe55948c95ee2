// A file deleted through another client of a Gluster volume (SMB's
// vfs_glusterfs, another appliance) while the gfapi backend still holds it
// open: each brick parks the file in .glusterfs/unlink and keeps its blocks
// until the last fd closes. The backend closes fds no call has taken for
// 5 s (checked every 2 s), so the space comes back without a restart,
// except those of files with UNSTABLE writes not yet committed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { gfapiStats, openGfapiVolume } from '@cairn/native';
import { GlusterLab, replica3 } from '../../pool/gluster/lab.js';
import { openGfapiBackend } from '../../../src/nfs/backend/gfapi/index.js';
import type { Cred } from '../../../src/nfs/backend/backend.js';

const root: Cred = { uid: 0, gid: 0, gids: [] };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** libgfapi opens since the last call (the process-wide counters, reset on reading). */
const opens = () => (JSON.parse(gfapiStats(true)) as { calls: Record<string, [number, number]> }).calls.open?.[0] ?? 0;

test('gfapi backend: a file deleted by another client gives its space back once idle', { timeout: 180_000 }, async (t) => {
  const lab = await GlusterLab.start(t);
  const bricks = await replica3(lab, 'gs', 1 << 30, 'general');
  const b = await openGfapiBackend({ volume: 'gs', volfileServer: lab.host });
  t.after(() => b.close());
  const other = await openGfapiVolume('gs', lab.host, 24007, '/dev/null', 4, []);
  const parked = async () => (await Promise.all(bricks.map((x) => readdir(join(x.brickDir, '.glusterfs', 'unlink')).catch(() => [])))).flat();

  const r = await b.root();
  const f = await b.create(root, r, 'big', { mode: 'unchecked', attrs: { mode: 0o644 } });
  await b.write(root, f.handle, 0n, randomBytes(4 << 20), 'file_sync');
  assert.equal((await b.read(root, f.handle, 0n, 16)).data.length, 16);
  assert.deepEqual(await parked(), []);

  await other.remove({ uid: 0, gid: 0, gids: [] }, (await other.root()).gfid, 'big', false);
  // Held open by the backend: every brick keeps it aside (the premise).
  const held = await parked();
  assert.equal(held.length, 3, `parked on each brick while open: ${JSON.stringify(held)}`);
  const deadline = Date.now() + 30_000;
  while ((await parked()).length > 0) {
    assert.ok(Date.now() < deadline, `still parked after 30 s: ${JSON.stringify(await parked())}`);
    await sleep(500);
  }
  t.diagnostic(`let go after ${30_000 - (deadline - Date.now())} ms`);

  // A file written UNSTABLE and not yet committed keeps its fd however long
  // it idles (closing it would flush write-behind, and an error of that
  // flush would be lost to the COMMIT): the COMMIT needs no new open.
  const u = await b.create(root, r, 'unstable', { mode: 'unchecked', attrs: { mode: 0o644 } });
  await b.write(root, u.handle, 0n, randomBytes(1 << 20), 'unstable');
  const idle = await b.create(root, r, 'idle', { mode: 'unchecked', attrs: { mode: 0o644 } });
  await b.write(root, idle.handle, 0n, randomBytes(4096), 'file_sync');
  await sleep(8000);
  opens();
  await b.commit(root, u.handle, 0n, 0);
  assert.equal(opens(), 0, 'the uncommitted file kept its fd');
  await b.read(root, idle.handle, 0n, 4096);
  assert.equal(opens(), 1, 'the idle, committed one was closed and is opened again');
});

test('gfapi backend: a full table of open files lets go of the least recently used, closed by the next sweep', async (t) => {
  const lab = await GlusterLab.start(t);
  await replica3(lab, 'gt', 1 << 30, 'general');
  const v = await openGfapiVolume('gt', lab.host, 24007, '/dev/null', 4, []);
  v.setMaxOpenFiles(8);
  const dir = (await v.root()).gfid;
  const files: Buffer[] = [];
  for (let i = 0; i < 10; i++) files.push((await v.create(root, dir, `f${i}`, 0o644, true, false)).gfid);
  // Uses at least 3 ms apart: the table orders files by the millisecond of their last use.
  const use = async (i: number) => {
    await sleep(3);
    await v.write(root, files[i]!, 0, Buffer.from(`data ${i}`), 2);
  };
  opens();
  for (let i = 0; i < 8; i++) await use(i);
  assert.equal(opens(), 8, 'eight files opened: the table is full');
  await use(0);
  assert.equal(opens(), 0, 'f0 is still open, and now the most recently used');
  await use(8);
  assert.equal(opens(), 1, 'f8 opened; f1, the least recently used, let go to make room');
  await use(0);
  await use(2);
  await use(7);
  assert.equal(opens(), 0, 'every other file kept its fd');
  await use(1);
  assert.equal(opens(), 1, 'f1 had been let go');
  // The files let go are closed by the next sweep, even with nothing idle.
  assert.ok((await v.sweep(60_000)) >= 2, 'the sweep closed what was let go');
  assert.equal((await v.sweep(60_000)), 0);
  for (let i = 0; i < 9; i++) assert.equal((await v.read(root, files[i]!, 0, 100)).data.toString(), `data ${i}`);
});
