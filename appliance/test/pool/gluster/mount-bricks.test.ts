// `cairnd mount-bricks` (what cairn-bricks.service runs before glusterd on
// the image): every recorded brick disk that is not mounted is mounted
// again by filesystem UUID; an absent disk is reported and does not fail
// the command. Real loop-file XFS disks, no glusterd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { mountPoints } from '../../../src/pool/gluster/brick-mounts.js';
import { createLoopDisk, detachLoopDisk, prepareBrick } from '../../../src/pool/gluster/disks.js';

const run = promisify(execFile);
const cairnd = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../bin/cairnd.js');

test('cairnd mount-bricks: recorded brick disks mounted again, an absent one reported', { timeout: 120_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-mount-bricks-'));
  const devices: string[] = [];
  t.after(async () => {
    for (const p of [join(dir, 'bricks', 'mb-1'), join(dir, 'bricks', 'mb-2')]) await run('umount', [p]).catch(() => undefined);
    for (const d of devices) await detachLoopDisk(d).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  const bricks = [];
  for (const id of ['mb-1', 'mb-2']) {
    const device = await createLoopDisk(join(dir, `${id}.img`), 320 << 20);
    devices.push(device);
    bricks.push(await prepareBrick({ device, id, dataDir: dir }));
  }
  await writeFile(join(bricks[0]!.brickDir, 'marker'), 'on the disk');
  for (const b of bricks) await run('umount', [b.mountPoint]);
  // The second disk goes away.
  await detachLoopDisk(devices.pop()!);
  assert.ok(!(await mountPoints()).has(bricks[0]!.mountPoint));

  const out = await run(process.execPath, [cairnd, 'mount-bricks', '--data-dir', dir]);
  assert.match(out.stdout, /brick mb-1 at .*: mounted \/dev\/loop\d+/);
  assert.match(out.stderr, /brick mb-2 at .*: disk \(XFS filesystem UUID [0-9a-f-]+\) not attached/);
  const points = await mountPoints();
  assert.ok(points.has(bricks[0]!.mountPoint), 'the attached disk is mounted again');
  assert.ok(!points.has(bricks[1]!.mountPoint), 'nothing mounted for the absent disk');
  assert.equal(await readFile(join(bricks[0]!.brickDir, 'marker'), 'utf8'), 'on the disk');

  // Run again: nothing to do.
  const again = await run(process.execPath, [cairnd, 'mount-bricks', '--data-dir', dir]);
  assert.match(again.stdout, /brick mb-1 at .*: already mounted/);
});
