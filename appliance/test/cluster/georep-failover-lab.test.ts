/**
 * Failover and failback of a geo-replicated volume on the lab, through
 * GeoRepFailover (the planned failover's drain through the cairn-georep
 * script itself, run inside site A): site A is node1
 * (volume gv0), site B is node2 (volume backup), each its own Gluster
 * cluster with sshd in its namespaces.
 *
 *   A → B replicates; planned failover: drain on A (waits until caught up,
 *   stops), promote on B; B takes writes (new, changed, deleted files);
 *   failback: reverse session B → A (force: A is not empty) until A has
 *   B's changes, finish-failback on B (caught up, stopped, deleted), resume
 *   on A through the cairn-georep script (its deletion pass removes what
 *   was deleted on B during the failover, kept aside; then A → B again):
 *   A equals B file for file; a write on A reaches B again. Trees compared
 *   by name and sha256 through FUSE mounts on each site.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { GeoRepFailover, GlusterGeoRep } from '../../src/pool/gluster/georep.js';
import { GlusterVolumes } from '../../src/pool/gluster/volumes.js';
import { Lab, sleep, type LabNode } from '../lab/lab.js';
import { labWatchdogs, stopAllSessions, tree, waitForCopy } from './georep-lab-helpers.js';

const SSH_PORT = 2222;
const CLI = fileURLToPath(new URL('../../../bin/cairn-georep.js', import.meta.url));

async function until(what: string, timeoutMs: number, ok: () => Promise<boolean>, explain: () => Promise<string>): Promise<number> {
  const start = Date.now();
  while (!(await ok())) {
    if (Date.now() - start > timeoutMs) assert.fail(`${what}: not within ${timeoutMs / 1000} s\n${await explain()}`);
    await sleep(2000);
  }
  return Date.now() - start;
}

test('geo-replication failover and failback between two sites: drain, promote, reverse, finish, resume', { timeout: 720_000 }, async (t) => {
  const lab = await Lab.up(2, { brickBytes: 512 << 20 });
  let dogs: ReturnType<typeof labWatchdogs> | undefined;
  t.after(async () => {
    if (process.env['CAIRN_LAB_KEEP']) return t.diagnostic(`lab kept: ${lab.state.dir}`);
    await dogs?.stop();
    await stopAllSessions(lab.nodes);
    await lab.down();
  });
  const [a, b] = lab.nodes as [LabNode, LabNode];
  // The product's stall watchdog on both sites (each is a primary in turn), as cairnd runs it.
  dogs = labWatchdogs([a, b], (m) => t.diagnostic(m));
  await new GlusterVolumes(a.cli).create({ name: 'gv0', bricks: [a.brick('gv0')], replica: 1 });
  await new GlusterVolumes(a.cli).start('gv0');
  await new GlusterVolumes(b.cli).create({ name: 'backup', bricks: [b.brick('backup')], replica: 1 });
  await new GlusterVolumes(b.cli).start('backup');
  await a.startSshd(SSH_PORT);
  await b.startSshd(SSH_PORT);
  await b.authorizeRootOf(a, SSH_PORT);
  await a.authorizeRootOf(b, SSH_PORT);
  // A checkpoint completes when a newer change syncs: B touches its volume's root through its mount (A's steps run the script).
  const siteB = new GeoRepFailover(new GlusterGeoRep(b.cli), new GlusterVolumes(b.cli), async () => void (await b.exec(['touch', mb])));
  const aToB = { primary: 'gv0', secondaryHost: 'node2', secondaryVolume: 'backup' };
  const bToA = { primary: 'backup', secondaryHost: 'node1', secondaryVolume: 'gv0' };
  const geoA = new GlusterGeoRep(a.cli);
  await geoA.gsecCreate();
  await geoA.create(aToB, { sshPort: SSH_PORT });
  await geoA.start(aToB);

  const ma = join(a.state.dir, 'mnt');
  const mb = join(b.state.dir, 'mnt');
  await mkdir(ma, { recursive: true });
  await mkdir(mb, { recursive: true });
  await a.exec(['mount', '-t', 'glusterfs', 'node1:/gv0', ma]);
  await b.exec(['mount', '-t', 'glusterfs', 'node2:/backup', mb]);
  // Seen once in about 30 starts on this loaded machine: glusterd accepted
  // `start` but the session stayed "Created" (no gsyncd monitor). Started
  // again once, said in the output; a second time fails the test.
  const startedAt = Date.now();
  let restarted = false;
  const crawling = await until(
    'A → B in Changelog Crawl',
    120_000,
    async () => {
      const pairs = (await geoA.status('gv0'))[0]?.pairs ?? [];
      if (!restarted && Date.now() - startedAt > 45_000 && pairs.length > 0 && pairs.every((p) => p.status === 'Created')) {
        restarted = true;
        t.diagnostic('session still Created 45 s after start: starting it again (once)');
        await geoA.start(aToB, { force: true });
      }
      return pairs.some((p) => p.status === 'Active' && p.crawlStatus === 'Changelog Crawl');
    },
    async () => JSON.stringify((await geoA.status('gv0'))[0]?.pairs),
  );
  t.diagnostic(`A → B active after ${crawling} ms`);
  await a.exec(['sh', '-c', 'set -e; cd "$1"; mkdir -p d; for i in 1 2 3 4 5; do head -c $((i * 100000)) /dev/urandom > d/f$i; done', 'sh', ma]);
  const w1 = await tree(a, ma);
  const arrived = await waitForCopy('first files on B', { want: w1, remote: () => tree(b, mb), timeoutMs: 180_000 });
  t.diagnostic(`5 files on B after ${arrived.ms} ms`);

  // Planned failover. Clients of A stop writing; the last write is still in flight.
  await a.exec(['sh', '-c', 'head -c 123456 /dev/urandom > "$1/d/last"', 'sh', ma]);
  const w2 = await tree(a, ma);
  // Through the cairn-georep script inside site A, as an operator runs it:
  // its drain touches the root through a FUSE mount of its own.
  const drainStart = Date.now();
  const drained = await a.exec([process.execPath, CLI, '--timeout', '180', 'drain', 'gv0', 'node2', 'backup'], 240_000);
  t.diagnostic(`drained in ${Date.now() - drainStart} ms: ${drained.stdout.trim().replace(/\n/g, ' | ')}`);
  assert.match(drained.stdout, /^caught up: active\b.*pending 0/m);
  assert.match(drained.stdout, /session stopped/);
  assert.match((await a.exec([process.execPath, CLI, 'status'])).stdout, /^gv0 → node2::backup: stopped/m);
  assert.ok((await geoA.status('gv0'))[0]!.pairs.every((p) => p.status === 'Stopped'));
  assert.equal(await tree(b, mb), w2, 'B has every write A took before the failover');

  // The copy is read-only while it is one (glusterd sets it at create).
  await assert.rejects(b.exec(['sh', '-c', 'echo x > "$1/d/stray"', 'sh', mb]), /Read-only file system/);
  await siteB.promote('backup');
  await b.exec(['sh', '-c', 'set -e; cd "$1"; head -c 222222 /dev/urandom > d/on-b; head -c 1000 /dev/urandom >> d/f1; rm d/f2', 'sh', mb]);
  const w3 = await tree(b, mb);
  // Past one changelog rollover (15 s): the unlink is in a changelog older
  // than the reverse session, so no restart of it can replay the unlink
  // (a history crawl replays every changelog rolled after its start time)
  // and only resume's deletion pass removes d/f2 from A.
  await sleep(20_000);
  assert.notEqual(w3, w2);

  // Failback: B's changes go back to A, then A replicates to B again.
  // The reverse session's first crawl is a hybrid (xsync) crawl: it carries
  // creations and data, not deletions: d/f2, deleted on B during the
  // failover, is still on A until resume's deletion pass (asserted, so the
  // day Gluster carries it is seen).
  const f2 = w2.split('\n').find((l) => l.endsWith('./d/f2'))!;
  const w3a = [...w3.split('\n').filter(Boolean), f2].sort((x, y) => (x.slice(66) < y.slice(66) ? -1 : 1)).join('\n') + '\n';
  await siteB.reverse(bToA, { sshPort: SSH_PORT });
  // A reverse start that does not take (stays Created) is the watchdog's after 90 s here.
  const back = await waitForCopy('B → A reverse sync', { want: w3a, remote: () => tree(a, ma), timeoutMs: 300_000 }).catch(async (err: unknown) => {
    // What the workers said, for the next one who reads a failure here.
    t.diagnostic(`reverse session at the timeout: ${JSON.stringify(await new GlusterGeoRep(b.cli).status('backup').catch((e: unknown) => String(e)))}`);
    throw err;
  });
  t.diagnostic(`A has B's changes ${back.ms} ms after the reverse session started`);
  const finished = await siteB.finishFailback(bToA, { timeoutMs: 180_000 });
  t.diagnostic(`failback finished: ${JSON.stringify(finished)}`);
  assert.deepEqual(await new GlusterGeoRep(b.cli).status('backup'), [], 'reverse session deleted');

  await assert.rejects(b.exec(['sh', '-c', 'echo x > "$1/d/stray"', 'sh', mb]), /Read-only file system/, 'B is a read-only copy again');
  // Before resume A holds d/f2, which B deleted, unless the reverse session
  // carried the unlink after all: finish-failback's drain (or a watchdog
  // restart of a stalled worker) can end in a changelog crawl that replays
  // it. Both are Gluster's choice; the deletion pass must handle either, and
  // after resume A must equal B.
  const beforeResume = await tree(a, ma);
  assert.ok(beforeResume === w3a || beforeResume === w3, `before resume A is B's tree, with or without d/f2:\n${beforeResume}`);
  const carried = beforeResume === w3;
  t.diagnostic(carried ? 'the reverse session carried the unlink of d/f2' : 'd/f2 is still on A before resume (the hybrid crawl carries no deletions)');
  // Resume on A through the script, as an operator runs it: the deletion pass, then the original session.
  const keep = join(a.state.dir, 'failback-kept');
  const resumed = await a.exec([process.execPath, CLI, '--keep-dir', keep, 'resume', 'gv0', 'node2', 'backup'], 240_000);
  t.diagnostic(`resume: ${resumed.stdout.trim().replace(/\n/g, ' | ')}`);
  if (carried) {
    assert.match(resumed.stdout, /^deletion pass: 0 path\(s\) deleted on node2::backup during the failover removed from gv0$/m);
  } else {
    assert.match(resumed.stdout, new RegExp(`^deletion pass: 1 path\\(s\\) deleted on node2::backup during the failover removed from gv0, kept in ${keep}$`, 'm'));
    assert.match(resumed.stdout, /^ {2}deleted d\/f2$/m);
  }
  assert.match(resumed.stdout, /original session started/);
  assert.equal(await tree(a, ma), w3, 'after failback A equals B: d/f2 gone, every other file with the same sha256');
  if (!carried) {
    const kept = (await a.exec(['sh', '-c', 'cd "$1" && sha256sum d/f2', 'sh', keep])).stdout.split(' ')[0];
    assert.equal(kept, f2.split(' ')[0], "the deleted file is kept aside with A's content");
  }
  await a.exec(['sh', '-c', 'head -c 77777 /dev/urandom > "$1/d/after-failback"', 'sh', ma]);
  const w4 = await tree(a, ma);
  assert.ok(!w4.includes('./d/f2'));
  const again = await waitForCopy('A → B after failback', { want: w4, remote: () => tree(b, mb), timeoutMs: 180_000 });
  t.diagnostic(`A → B replicating again: new write on B after ${again.ms} ms`);
  t.diagnostic(`watchdog restarts: ${dogs.restarts()}`);
  await geoA.stop(aToB);
});
