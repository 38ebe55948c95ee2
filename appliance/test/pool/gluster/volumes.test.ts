// The pool driver against a real glusterd (in a private namespace, see lab.ts):
// disks → bricks → replica-3 volume → typed status, capacity and heal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GlusterLab } from './lab.js';
import { createLoopDisk, detachLoopDisk, listBlockDevices, prepareBrick } from '../../../src/pool/gluster/disks.js';
import { GlusterError } from '../../../src/pool/gluster/errors.js';

test('replica-3 volume from three loop bricks: create, tune, status, capacity, heal', async (t) => {
  const lab = await GlusterLab.start(t);
  const bricks = [await lab.addBrick('b1'), await lab.addBrick('b2'), await lab.addBrick('b3')];

  // The disks show up in lsblk, mounted where prepareBrick put them.
  const devs = await listBlockDevices();
  for (const b of bricks) {
    const d = devs.find((x) => x.path === b.device);
    assert.ok(d, `${b.device} listed`);
    assert.deepEqual(d.mountpoints, [b.mountPoint]);
  }

  // A disk that is mounted, or that holds a filesystem, is refused.
  await assert.rejects(prepareBrick({ device: bricks[0]!.device, id: 'again', dataDir: lab.dir }), { code: 'DISK_IN_USE' });
  const spare = await createLoopDisk(`${lab.dir}/spare.img`, 300 << 20);
  t.after(() => detachLoopDisk(spare).catch(() => undefined));
  await prepareBrick({ device: spare, id: 'spare', dataDir: lab.dir }).then((b) =>
    import('../../../src/pool/gluster/disks.js').then((m) => m.releaseBrick(b)),
  );
  await assert.rejects(prepareBrick({ device: spare, id: 'spare2', dataDir: lab.dir }), {
    code: 'DISK_IN_USE',
    message: /holds xfs/,
  });

  const v = lab.volumes;
  const names = bricks.map((b) => b.name);
  // Three bricks on one server: refused without force, with glusterd's reason.
  await assert.rejects(v.create({ name: 'pool0', bricks: names, replica: 3 }), (e: unknown) => {
    assert.ok(e instanceof GlusterError);
    assert.equal(e.code, 'GLUSTER_FAILED');
    assert.match(e.message, /same server/);
    return true;
  });
  await assert.rejects(v.create({ name: 'bad name', bricks: names, replica: 3 }), { code: 'INVALID_ARGUMENT' });
  await assert.rejects(v.create({ name: 'p', bricks: names.slice(0, 2), replica: 3 }), { code: 'INVALID_ARGUMENT' });

  const created = await v.create({ name: 'pool0', bricks: names, replica: 3, force: true });
  assert.match(created.id, /^[0-9a-f-]{36}$/);
  await v.applyVmDatastoreOptions('pool0');
  await v.start('pool0');
  assert.deepEqual(await v.list(), ['pool0']);

  const info = await v.info('pool0');
  assert.equal(info.state, 'Started');
  assert.equal(info.replicaCount, 3);
  assert.deepEqual(
    info.bricks.map((b) => b.name),
    names,
  );
  assert.equal(info.options['network.ping-timeout'], '10');
  assert.equal(info.options['client.tcp-user-timeout'], '5');
  assert.equal(info.options['features.shard'], 'on'); // from the virt group

  const status = await v.status('pool0');
  assert.equal(status.bricks.length, 3);
  for (const b of status.bricks) {
    assert.equal(b.online, true);
    assert.ok(b.pid && b.pid > 0);
    assert.equal(b.fsName, 'xfs');
  }
  const cap = await v.capacity('pool0');
  // One brick's worth (1 GiB disk minus XFS overhead), not three.
  assert.ok(cap.totalBytes > 900e6 && cap.totalBytes <= 1 << 30, String(cap.totalBytes));
  assert.ok(cap.freeBytes > 0 && cap.freeBytes <= cap.totalBytes);

  const heal = await v.heal('pool0');
  assert.equal(heal.bricks.length, 3);
  assert.equal(heal.pending, 0);
  assert.equal(heal.unreachable, 0);
  assert.equal(await v.health('pool0'), 'healthy');

  // Expand by a whole replica set: distributed-replicate, twice the capacity.
  const more = [await lab.addBrick('b4'), await lab.addBrick('b5'), await lab.addBrick('b6')];
  await assert.rejects(v.addBrick('pool0', more.slice(0, 2).map((b) => b.name), { force: true }), { code: 'GLUSTER_FAILED' });
  await v.addBrick('pool0', more.map((b) => b.name), { force: true });
  const grown = await v.info('pool0');
  assert.equal(grown.brickCount, 6);
  assert.equal(grown.distCount, 2);
  assert.equal(grown.type, 'Distributed-Replicate');
  const cap2 = await v.capacity('pool0');
  assert.ok(cap2.totalBytes > 1.9 * cap.totalBytes, `${cap2.totalBytes} vs ${cap.totalBytes}`);

  // Stop and delete.
  await v.stop('pool0');
  assert.equal(await v.health('pool0'), 'stopped');
  await v.delete('pool0');
  assert.deepEqual(await v.list(), []);
  await assert.rejects(v.info('pool0'), { code: 'GLUSTER_FAILED' });
});

test('replica 2 + arbiter: the third brick holds metadata only and adds no capacity', async (t) => {
  const lab = await GlusterLab.start(t);
  const data1 = await lab.addBrick('d1');
  const data2 = await lab.addBrick('d2');
  const arb = await lab.addBrick('arb', 300 << 20);
  const v = lab.volumes;
  await assert.rejects(v.create({ name: 'arb', bricks: [data1.name, data2.name], replica: 2, arbiter: true, force: true }), {
    code: 'INVALID_ARGUMENT',
  });
  await v.create({ name: 'arb', bricks: [data1.name, data2.name, arb.name], replica: 2, arbiter: true, force: true });
  await v.start('arb');
  const info = await v.info('arb');
  assert.equal(info.replicaCount, 3);
  assert.equal(info.arbiterCount, 1);
  assert.deepEqual(
    info.bricks.map((b) => b.isArbiter),
    [false, false, true],
  );
  const cap = await v.capacity('arb');
  // The data bricks (1 GiB) set the capacity, not the small arbiter.
  assert.ok(cap.totalBytes > 900e6, String(cap.totalBytes));
  assert.equal(await v.health('arb'), 'healthy');
});
