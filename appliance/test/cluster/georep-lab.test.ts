/**
 * Geo-replication on the lab: a replica-3 volume on node1–3 replicated to
 * a single-brick volume on node4 (the "remote site"), set up through
 * pool/gluster/georep.ts against real glusterd, gsyncd and rsync, with sshd
 * in node4's namespaces.
 *
 * Asserted:
 *  - the session goes Active on one replica and Passive on the others;
 *  - files written through a FUSE mount of the primary reach node4's volume
 *    with the same names and sha256 (seen through a FUSE mount of the
 *    secondary volume on node4, not its brick);
 *  - node4's link is cut (packets vanish, no RST), files are written,
 *    modified, renamed and deleted on the primary meanwhile, and status
 *    still answers with the last synced time and a growing lag;
 *  - the link heals, the session catches up (a checkpoint set after the
 *    heal completes) and the two trees match again, sha256 by sha256;
 *  - stopping the session leaves no aux mount behind on node4.
 *
 * This test failed before georep.ts set `secondary-access-mount` (entries
 * arrived, every file stayed empty): see SECONDARY_ACCESS_MOUNT there.
 * The product's stall watchdog runs for the primary nodes as cairnd runs
 * it (georep-lab-helpers.ts); the diagnostics say when it restarted the
 * session.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { GlusterGeoRep, newestChangelogs, summarize, type GeoRepPair, type GeoRepSummary } from '../../src/pool/gluster/georep.js';
import { GlusterPeers } from '../../src/pool/gluster/peers.js';
import { GlusterVolumes } from '../../src/pool/gluster/volumes.js';
import { Lab, sleep, type LabNode } from '../lab/lab.js';
import { labWatchdogs, newestChangelogIn, stopAllSessions, tree, treeDiff, waitForCopy } from './georep-lab-helpers.js';

const SSH_PORT = 2222; // inside node4's own network namespace

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | null>, explain?: () => Promise<string>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== null) return v;
    if (Date.now() > deadline) assert.fail(`${what}: not within ${timeoutMs / 1000} s${explain ? `\n${await explain()}` : ''}`);
    await sleep(2000);
  }
}

test('geo-replication to a fourth appliance: data arrives, catches up after a partition, checksums match', { timeout: 360_000 }, async (t) => {
  const lab = await Lab.up(4, { brickBytes: 512 << 20 });
  let dogs: ReturnType<typeof labWatchdogs> | undefined;
  // CAIRN_LAB_KEEP=1 leaves the lab up for a look (tear down: lab/cli.js down DIR).
  t.after(async () => {
    await dogs?.stop();
    if (process.env['CAIRN_LAB_KEEP']) return t.diagnostic(`lab kept: ${lab.state.dir}`);
    await stopAllSessions(lab.nodes);
    await lab.down();
  });
  const [n1, n2, n3, n4] = lab.nodes as [LabNode, LabNode, LabNode, LabNode];
  // The product's stall watchdog on each primary appliance, as cairnd runs it.
  dogs = labWatchdogs([n1, n2, n3], (m) => t.diagnostic(m));
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
  const pairsNow = async (): Promise<GeoRepPair[]> => (await geo.status('gv0'))[0]?.pairs ?? [];
  const summaryNow = async (): Promise<GeoRepSummary> => {
    const now = (await n1.exec(['date', '+%Y-%m-%dT%H:%M:%S'])).stdout.trim();
    const pairs = await pairsNow();
    // Each worker's brick is read inside its node (mounted in the node's namespace).
    const newestOf = (brick: string) => {
      const node = lab.nodes.find((n) => n.name === pairs.find((p) => p.primaryBrick === brick)?.primaryNode);
      return node ? newestChangelogIn(node)(brick) : Promise.resolve(null);
    };
    return summarize(pairs, now, await newestChangelogs(pairs, newestOf));
  };
  const started = Date.now();
  // Active, then past its first (hybrid) crawl: from here on every change
  // is in the brick's changelog.
  const pairs = await waitFor('session Active in Changelog Crawl', 120_000, async () => {
    const p = await pairsNow();
    return p.some((x) => x.status === 'Active' && x.crawlStatus === 'Changelog Crawl') ? p : null;
  });
  t.diagnostic(`session Active after ${Date.now() - started} ms`);
  assert.equal(pairs.length, 3);
  assert.equal(pairs.filter((p) => p.status === 'Active').length, 1, 'one worker per replica set syncs');
  assert.equal(pairs.filter((p) => p.status === 'Passive').length, 2);

  // The primary through a FUSE mount in node1, the secondary through one in node4.
  const src = join(n1.state.dir, 'mnt');
  const dst = join(n4.state.dir, 'mnt');
  await mkdir(src, { recursive: true });
  await mkdir(dst, { recursive: true });
  await n1.exec(['mount', '-t', 'glusterfs', 'node1:/gv0', src]);
  await n4.exec(['mount', '-t', 'glusterfs', 'node4:/backup', dst]);
  // 12 files from 1 byte to ~1.5 MiB in a small tree.
  await n1.exec(['sh', '-c', [
    'set -e; cd "$1"; mkdir -p site/docs site/img',
    'i=0; for n in 1 100 4096 65536 100000 262144 524288 1048576 1500000 7 333 999999; do',
    '  i=$((i+1)); d=site/docs; [ $((i % 2)) -eq 0 ] && d=site/img',
    '  head -c $n /dev/urandom > $d/f$i.bin',
    'done',
    'echo hello > site/hello.txt',
  ].join('\n'), 'sh', src]);
  const first = await tree(n1, src);
  assert.equal(first.trim().split('\n').length, 13);
  const wrote = Date.now();
  await waitForCopy('first batch on node4', { want: first, remote: () => tree(n4, dst), timeoutMs: 180_000 });
  t.diagnostic(`13 files on node4 with matching sha256 ${Date.now() - wrote} ms after the write (watchdog restarts so far: ${dogs.restarts()})`);
  const before = await summaryNow();
  t.diagnostic(`summary before the partition: ${JSON.stringify(before)}`);
  assert.equal(before.state, 'active');
  assert.match(before.lastSynced ?? '', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/);

  // Partition: node4 unreachable, changes of every kind on the primary.
  await n4.cutLink();
  const cut = Date.now();
  await n1.exec(['sh', '-c', [
    'set -e; cd "$1"; mkdir -p site/new',
    'for i in 1 2 3 4 5 6; do head -c $((i * 200000)) /dev/urandom > site/new/g$i.bin; done',
    'head -c 300000 /dev/urandom >> site/docs/f1.bin',
    'mv site/img/f2.bin site/new/renamed.bin',
    'rm site/docs/f3.bin',
  ].join('\n'), 'sh', src]);
  const second = await tree(n1, src);
  assert.notEqual(second, first);
  let during: GeoRepSummary | null = null;
  while (Date.now() - cut < 30_000) {
    await sleep(5000);
    during = await summaryNow();
    t.diagnostic(`partitioned ${Math.round((Date.now() - cut) / 1000)} s: ${JSON.stringify(during)}`);
  }
  // Status keeps answering while the secondary is unreachable; the last
  // synced time does not move past the cut, so the lag grows with it.
  assert.ok(during, 'status answered during the partition');
  assert.equal(during.upToDate, false, 'changes wait for the secondary');
  assert.ok(during.lastSynced !== null || during.state !== 'active', 'an active session reports its last synced time');
  if (during.lagSeconds !== null) assert.ok(during.lagSeconds >= 20, `lag ${during.lagSeconds} s after 30 s without the secondary`);
  assert.notEqual(await tree(n4, dst).catch(() => ''), second, 'nothing new can arrive while node4 is cut off');

  await n4.restoreLink();
  const healed = Date.now();
  await waitFor('catch-up after the partition', 180_000, async () => ((await tree(n4, dst)) === second ? true : null), async () => treeDiff(second, await tree(n4, dst)));
  t.diagnostic(`caught up ${Date.now() - healed} ms after the link healed`);
  // A checkpoint completes when a change newer than it has synced: on an
  // idle volume, touch the root (what docs/geo-replication.md says too).
  await geo.checkpoint(target);
  await sleep(1100);
  await n1.exec(['touch', src]);
  const cp = await waitFor('checkpoint completed', 120_000, async () => {
    const p = (await pairsNow()).find((x) => x.status === 'Active');
    return p?.checkpointCompleted ? p : null;
  });
  t.diagnostic(`checkpoint ${cp.checkpointTime} completed; last synced ${cp.lastSynced}`);
  const after = await summaryNow();
  t.diagnostic(`summary after catch-up: ${JSON.stringify(after)}`);
  assert.equal(after.state, 'active');
  assert.equal(after.pending, 0);
  assert.equal(await tree(n4, dst), second, 'the remote copy matches, file by file');

  await geo.stop(target);
  assert.ok((await pairsNow()).every((p) => p.status === 'Stopped'));
  // The secondary's aux mounts (kept attached by secondary-access-mount)
  // go with its gsyncd processes.
  await waitFor('no aux mount left on node4', 30_000, async () => {
    const mi = (await n4.exec(['cat', '/proc/self/mountinfo'])).stdout;
    return mi.includes('gsyncd-aux-mount') ? null : true;
  });
});
