/**
 * Geo-replication on the lab: a replica-3 volume on node1–3 replicated to
 * a single-brick volume on node4 (the "remote site"), set up through
 * pool/gluster/georep.ts against real glusterd and gsyncd, with sshd in
 * node4's namespace.
 *
 * Asserted: the session goes Active on one replica and Passive on the
 * others, status is typed with a last-synced time and a lag, and the
 * session stops.
 *
 * Not asserted, and known (FACTS.md, reproduced here): replication of the
 * data itself is unreliable while the lab's nodes share the host's root
 * filesystem. In one manual run entries (directories, files) reached the
 * remote brick but the files stayed empty although gsyncd logged DATA
 * synced with rsync exit 0; in another nothing arrived in 90 s. It needs
 * nodes with their own root filesystems (QEMU or a chroot). The test
 * prints what reached node4 so the day it works is seen.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { GlusterGeoRep, summarize } from '../../src/pool/gluster/georep.js';
import { GlusterPeers } from '../../src/pool/gluster/peers.js';
import { GlusterVolumes } from '../../src/pool/gluster/volumes.js';
import { Lab, sleep } from '../lab/lab.js';

const SSH_PORT = 2222; // inside node4's own network namespace

test('geo-replication to a fourth appliance: session Active on one replica, typed status with lag, stop', { timeout: 300_000 }, async (t) => {
  const lab = await Lab.up(4, { brickBytes: 512 << 20 });
  t.after(() => lab.down());
  const [n1, n2, n3, n4] = lab.nodes as [NonNullable<(typeof lab.nodes)[0]>, NonNullable<(typeof lab.nodes)[0]>, NonNullable<(typeof lab.nodes)[0]>, NonNullable<(typeof lab.nodes)[0]>];
  const peers = new GlusterPeers(n1.cli);
  await peers.probe('node2');
  await peers.probe('node3');
  await peers.waitConnected(['node2', 'node3']);
  const primary = new GlusterVolumes(n1.cli);
  await primary.create({ name: 'gv0', bricks: [n1, n2, n3].map((n) => n.brick('gv0')), replica: 3 });
  await primary.start('gv0');
  const remote = new GlusterVolumes(n4.cli);
  await remote.create({ name: 'backup', bricks: [n4.brick('backup')], replica: 1 });
  await remote.start('backup');

  await n4.startSshd(SSH_PORT);
  await n4.authorizeRootOf(n1, SSH_PORT);
  const geo = new GlusterGeoRep(n1.cli);
  const target = { primary: 'gv0', secondaryHost: 'node4', secondaryVolume: 'backup' };
  await geo.gsecCreate();
  await geo.create(target, { sshPort: SSH_PORT });
  await geo.start(target);
  const started = Date.now();
  let pairs = (await geo.status('gv0'))[0]?.pairs ?? [];
  while (!pairs.some((p) => p.status === 'Active')) {
    assert.ok(Date.now() - started < 120_000, `session not Active after 120 s: ${JSON.stringify(pairs.map((p) => p.status))}`);
    await sleep(2000);
    pairs = (await geo.status('gv0'))[0]?.pairs ?? [];
  }
  t.diagnostic(`session Active after ${Date.now() - started} ms`);
  assert.equal(pairs.length, 3);
  assert.equal(pairs.filter((p) => p.status === 'Active').length, 1, 'one worker per replica set syncs');
  assert.equal(pairs.filter((p) => p.status === 'Passive').length, 2);

  // Write through a FUSE mount inside node1.
  const mnt = join(n1.state.dir, 'mnt');
  await mkdir(mnt, { recursive: true });
  await n1.exec(['mount', '-t', 'glusterfs', 'node1:/gv0', mnt]);
  await n1.exec(['mkdir', '-p', join(mnt, 'site', 'docs')]);
  await n1.exec(['sh', '-c', 'head -c 1048576 /dev/urandom > "$1/site/docs/a.bin" && echo hello > "$1/site/hello.txt"', 'sh', mnt]);
  const remoteFile = join(n4.state.brickRoot, 'backup', 'site', 'docs', 'a.bin');
  const wrote = Date.now();
  let seen: string | null = null;
  while (seen === null && Date.now() - wrote < 30_000) {
    await sleep(3000);
    seen = await n4.exec(['stat', '-c', '%s', remoteFile]).then((r) => r.stdout.trim(), () => null);
  }
  t.diagnostic(seen === null ? 'nothing reached node4 within 30 s (known, see header)' : `entry on node4 after ${Date.now() - wrote} ms; remote size ${seen} of 1048576 bytes`);

  const active = (await geo.status('gv0'))[0]!.pairs.find((p) => p.status === 'Active')!;
  assert.match(active.lastSynced ?? '', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/, 'last synced time');
  const now = (await n1.exec(['date', '+%Y-%m-%dT%H:%M:%S'])).stdout.trim();
  const sum = summarize((await geo.status('gv0'))[0]!.pairs, now);
  t.diagnostic(`summary: ${JSON.stringify(sum)}`);
  assert.equal(sum.state, 'active');
  assert.ok(sum.lagSeconds !== null && sum.lagSeconds >= 0);

  await geo.stop(target);
  assert.ok((await geo.status('gv0'))[0]!.pairs.every((p) => p.status === 'Stopped'));
});
