// A file deleted through another client of a Gluster volume (SMB's
// vfs_glusterfs, another appliance) while the gfapi backend still holds it
// open: each brick parks the file in .glusterfs/unlink and keeps its blocks
// until the last fd closes. The backend closes fds no call has taken for
// 5 s (checked every 2 s), so the space comes back without a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { openGfapiVolume } from '@cairn/native';
import { GlusterLab, replica3 } from '../../pool/gluster/lab.js';
import { openGfapiBackend } from '../../../src/nfs/backend/gfapi/index.js';
import type { Cred } from '../../../src/nfs/backend/backend.js';

const root: Cred = { uid: 0, gid: 0, gids: [] };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
});
