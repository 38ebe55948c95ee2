import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diskLabel, disksFieldErrors, emptyGlusterPool, layoutProblem, layoutsFor } from '../src/lib/pool-plan.js';
import { diskIsSpare, diskOfBrick, poolOfDisk } from '../src/lib/disks.js';

test('first pool: layouts that divide the disk count, safest first', () => {
  const keys = (n: number) => layoutsFor(n).map((l) => `${l.replica}+${l.arbiter}`);
  assert.deepEqual(keys(0), []);
  assert.deepEqual(keys(1), ['1+0']);
  assert.deepEqual(keys(2), ['2+0']);
  assert.deepEqual(keys(3), ['3+0', '2+1']);
  assert.deepEqual(keys(4), ['2+0']);
  assert.deepEqual(keys(6), ['3+0', '2+1', '2+0']);
  assert.deepEqual(keys(5), []);
  assert.match(layoutProblem(5)!, /5 disks cannot be split/);
  assert.equal(layoutProblem(6), null);
  assert.equal(layoutProblem(0), null);
});

test('first pool: the empty gluster pool the API accepts (disks follow as a task)', () => {
  assert.deepEqual(emptyGlusterPool('data', { replica: 3, arbiter: 0 }), { id: 'data', kind: 'gluster', replica: 3, bricks: [] });
  assert.deepEqual(emptyGlusterPool('data', { replica: 2, arbiter: 1 }), { id: 'data', kind: 'gluster', replica: 2, arbiter: 1, bricks: [] });
});

test('disk field errors move beside the disk they are about', () => {
  const chosen = ['/dev/vdb', '/dev/vdc'];
  assert.deepEqual(disksFieldErrors({ 'disks.1': ['Is mounted.'], disks: ['Must hold a multiple of 3 disks.'] }, 'disks', chosen), {
    'disks./dev/vdc': ['Is mounted.'],
    disks: ['Must hold a multiple of 3 disks.'],
  });
  assert.deepEqual(disksFieldErrors({ 'disks.7': ['?'] }, 'disks', chosen), { 'disks.7': ['?'] });
  assert.deepEqual(disksFieldErrors({ disk: ['Is not a disk of this appliance.'], brick: ['x'] }, 'disk', ['/dev/vdd']), {
    'disk./dev/vdd': ['Is not a disk of this appliance.'],
    brick: ['x'],
  });
});

test('disks offered: unused whole disks and loop devices, nothing mounted, formatted or partitioned', () => {
  const base = { path: '/dev/vdb', name: 'vdb', sizeBytes: 1 << 30, type: 'disk', fstype: null, pttype: null, mountpoints: [] as string[], children: [] };
  assert.equal(diskIsSpare(base), true);
  assert.equal(diskIsSpare({ ...base, path: '/dev/loop7', name: 'loop7', type: 'loop' }), true);
  assert.equal(diskIsSpare({ ...base, mountpoints: ['/var/lib/cairn/bricks/x'] }), false);
  assert.equal(diskIsSpare({ ...base, fstype: 'xfs' }), false);
  assert.equal(diskIsSpare({ ...base, pttype: 'gpt' }), false);
  assert.equal(diskIsSpare({ ...base, children: [{ ...base, path: '/dev/vdb1', type: 'part' }] }), false);
  assert.equal(diskIsSpare({ ...base, path: '/dev/zram0', name: 'zram0' }), false);
  assert.equal(diskIsSpare({ ...base, path: '/dev/sr0', name: 'sr0', type: 'rom' }), false);
  assert.equal(diskIsSpare({ ...base, sizeBytes: 0 }), false);
  assert.equal(diskLabel({ ...base, path: '/dev/loop7', type: 'loop', model: null }, () => '1 GiB'), '/dev/loop7 — 1 GiB (a file, loop device)');
});

test('a brick sits on the disk mounted under it; a disk belongs to the pool of its bricks', () => {
  const disks = [
    { path: '/dev/vda', mountpoints: ['/'], children: [{ path: '/dev/vda1', mountpoints: ['/var'] }] },
    { path: '/dev/vdb', mountpoints: ['/var/lib/cairn/bricks/data-1'] },
    { path: '/dev/vdc', mountpoints: ['/var/lib/cairn/bricks/data-10'] },
    { path: '/dev/vdd', mountpoints: [] },
  ];
  assert.equal(diskOfBrick('/var/lib/cairn/bricks/data-1/brick', disks), '/dev/vdb');
  assert.equal(diskOfBrick('/var/lib/cairn/bricks/data-10/brick', disks), '/dev/vdc');
  // The longest mount wins; the root filesystem never names a brick's disk.
  assert.equal(diskOfBrick('/var/other/brick', disks), '/dev/vda');
  assert.equal(diskOfBrick('/srv/brick', disks), undefined);
  const pools = [{ id: 'local' }, { id: 'data', bricks: [{ path: '/var/lib/cairn/bricks/data-10/brick' }] }];
  assert.equal(poolOfDisk(disks[2]!, pools, disks), 'data');
  assert.equal(poolOfDisk(disks[1]!, pools, disks), undefined);
  assert.equal(poolOfDisk(disks[0]!, pools, disks), undefined);
});
