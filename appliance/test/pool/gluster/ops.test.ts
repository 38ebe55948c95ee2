/**
 * The gluster driver's operational duties, inside cairnd (startDaemon
 * with the real GlusterPoolDriver, glusterd in the lab), seen through the
 * REST API:
 *  1. a brick process dies: the driver's watch notices, the reconciler
 *     runs `volume start force`, the brick returns. Files written while
 *     a brick is down (and cairnd stopped): the next cairnd restarts the
 *     brick; heal progress (pending per brick, rate, ETA) shows in
 *     GET /pools/:id until nothing is pending, and every file reached the
 *     returned brick;
 *  2. a "reboot": cairnd stops, every brick process dies, every brick
 *     disk is unmounted and its loop device re-attached under another
 *     name, one disk stays away and someone made a `brick` directory in
 *     its bare mount point. The new cairnd mounts the disks by filesystem
 *     UUID but refuses `start force` while that directory exists (it
 *     would become a brick on the root filesystem); without it, the two
 *     bricks come back and the absent disk is reported; when the disk
 *     returns it is mounted, its brick restarted and healed. The pool's
 *     state names each brick's filesystem: a brick record lost in the
 *     "reboot" is written again from it, and a state naming another
 *     filesystem than the one mounted (a swapped disk) is reported.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startDaemon, type Daemon } from '../../../src/daemon.js';
import { createLogger } from '../../../src/log.js';
import { openGfapiBackend } from '../../../src/nfs/backend/gfapi/index.js';
import type { Backend, Cred } from '../../../src/nfs/backend/backend.js';
import { toNfsStat, nfsstat3 } from '../../../src/nfs/backend/errors.js';
import { mountPoints } from '../../../src/pool/gluster/brick-mounts.js';
import { createLoopDisk, detachLoopDisk } from '../../../src/pool/gluster/disks.js';
import { GlusterPoolDriver } from '../../../src/pool/gluster/driver.js';
import type { HealProgress } from '../../../src/pool/gluster/heal.js';
import { Metrics } from '../../../src/system/metrics.js';
import { umountWhenFree } from '../../helpers/procs.js';
import { GlusterLab, killAndWait, type LabBrick } from './lab.js';

const run = promisify(execFile);
const root: Cred = { uid: 0, gid: 0, gids: [] };
const FILES = 300;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface PoolView {
  heal: HealProgress | null;
  problems: Array<{ message: string }>;
}

/** cairnd with the gluster driver on the lab's glusterd, logged in as admin; stopped in t.after. */
async function cairnd(lab: GlusterLab, dataDir: string, metrics: Metrics, running: Set<Daemon>): Promise<{ d: Daemon; get: (path: string) => Promise<PoolView> }> {
  let daemon: Daemon | undefined;
  const log = createLogger(process.env.OPS_LOG ? 'debug' : 'silent');
  const d = await startDaemon({ dataDir, host: '127.0.0.1', port: 0, logLevel: 'silent', smbPort: 0, rpcbind: false }, log, {
    metrics,
    drivers: () => [
      new GlusterPoolDriver({
        cli: lab.cli,
        log,
        metrics,
        watchMs: 2000,
        healSampleMs: 1000,
        restartBackoff: { initialMs: 1000, maxMs: 4000 },
        requestReconcile: () => void daemon?.reconciler.trigger(),
      }),
    ],
  });
  daemon = d;
  running.add(d);
  let token: string;
  try {
    token = (await readFile(join(dataDir, 'setup-token'), 'utf8')).trim();
  } catch {
    token = '';
  }
  const password = 'gluster-ops-admin-pw';
  let res = token
    ? await fetch(`${d.url}/api/v1/setup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, password }) })
    : await fetch(`${d.url}/api/v1/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password }) });
  assert.ok(res.status === 201 || res.status === 200, await res.text());
  const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]!).join('; ');
  const get = async (path: string) => {
    res = await fetch(`${d.url}/api/v1${path}`, { headers: { cookie } });
    assert.equal(res.status, 200);
    return (await res.json()) as PoolView;
  };
  return { d, get };
}

async function until<T>(what: string | (() => string), timeoutMs: number, fn: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) assert.fail(`timed out: ${typeof what === 'string' ? what : what()}`);
    await sleep(500);
  }
}

async function brickStatus(lab: GlusterLab, vol: string) {
  return (await lab.volumes.status(vol, { detail: false })).bricks;
}

/** Retries while libgfapi reconnects (NFS3ERR_JUKEBOX), as an NFS client would. */
async function retrying<T>(fn: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (toNfsStat(err) !== nfsstat3.NFS3ERR_JUKEBOX || Date.now() > deadline) throw err;
      await sleep(500);
    }
  }
}

/** Waits (up to 10 s) until `device` no longer holds `file`. */
async function released(device: string, file: string): Promise<boolean> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { stdout } = await run('losetup', ['-l', '-n', '-O', 'NAME,BACK-FILE']);
    if (!stdout.split('\n').some((l) => l.startsWith(`${device} `) && l.includes(file))) return true;
    if (Date.now() > deadline) return false;
    await sleep(200);
  }
}

/** A loop device for `file` under a new name: a placeholder takes the lowest free one first. */
async function reattach(dir: string, file: string): Promise<string> {
  const ph = join(dir, `placeholder-${randomBytes(2).toString('hex')}.img`);
  const hold = await createLoopDisk(ph, 1 << 20);
  try {
    return (await run('losetup', ['--show', '-f', file])).stdout.trim();
  } finally {
    await detachLoopDisk(hold).catch(() => undefined);
    await rm(ph, { force: true });
  }
}

test('gluster operations: dead bricks restarted, heal progress with ETA, brick disks mounted again after a reboot', { timeout: 300_000 }, async (t) => {
  let dir: string | undefined;
  let backend: Backend | undefined;
  const running = new Set<Daemon>();
  // Registered before the lab: after-hooks run in order, so cairnd stops before glusterd goes.
  t.after(async () => {
    for (const d of running) await d.close().catch(() => undefined);
    if (backend) await backend.close().catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const lab = await GlusterLab.start(t);
  const bricks: LabBrick[] = [];
  for (let i = 1; i <= 3; i++) bricks.push(await lab.addBrick(`ops-${i}`, 512 << 20));
  dir = await mkdtemp(join(tmpdir(), 'cairn-gluster-ops-'));
  await chmod(dir, 0o755);
  const dataDir = join(dir, 'data');
  await mkdir(dataDir, { mode: 0o755 });

  const metrics = new Metrics();
  let { d, get } = await cairnd(lab, dataDir, metrics, running);
  // The state names each brick's filesystem, as pool-tasks does for disks Cairn prepared.
  const fsUuids = await Promise.all(bricks.map(async (b) => (JSON.parse(await readFile(`${b.mountPoint}.json`, 'utf8')) as { fsUuid: string }).fsUuid));
  const rev = await d.store.update('test', 'a gluster pool', (s) => {
    s.pools.push({ id: 'ops', kind: 'gluster', label: 'replicated', replica: 3, arbiter: 0, bricks: bricks.map((b, i) => ({ host: lab.host, path: b.brickDir, fsUuid: fsUuids[i]! })) });
  });
  await until('pool reconciled', 90_000, async () => {
    const st = d.reconciler.status();
    return st.appliedRevision !== null && st.appliedRevision >= rev.revision && st.problems.length === 0;
  });
  assert.equal((await get('/pools/ops')).heal, null, 'nothing pending: heal is null');

  backend = await openGfapiBackend({ volume: 'ops', volfileServer: lab.host, logFile: join(lab.dir, 'log', 'gfapi.log') });
  const b = backend;
  const top = await b.create(root, await b.root(), 'before', { mode: 'guarded', attrs: { mode: 0o644 } });
  await b.write(root, top.handle, 0n, Buffer.from('written while healthy'), 'file_sync');

  await t.test('a dead brick is restarted by the driver; heal progress shows in the API until nothing is pending', async () => {
    const victim = bricks[0]!;
    const pidOf = async () => (await brickStatus(lab, 'ops')).find((x) => x.brick === victim.name && x.online)?.pid ?? undefined;
    // Nobody calls the driver: its watch sees the brick down and asks for a pass.
    let pid = await pidOf();
    assert.ok(pid);
    await killAndWait([pid]);
    const back = await until('the watch brings the brick back', 60_000, pidOf);
    assert.notEqual(back, pid);
    assert.match(await metrics.registry.metrics(), /cairn_brick_restarts_total\{pool="ops"\} 1/);

    // Entries to heal: files written while the brick is down. cairnd is stopped
    // meanwhile (else its watch restarts the brick within seconds and little
    // is left to heal); the new cairnd's first pass restarts it.
    await d.close();
    pid = await pidOf();
    assert.ok(pid);
    await killAndWait([pid]);
    const dirH = (await b.mkdir(root, await b.root(), 'd', { mode: 0o755 })).handle;
    for (let i = 0; i < FILES; i++) {
      const f = await b.create(root, dirH, `f${i}`, { mode: 'guarded', attrs: { mode: 0o644 } });
      await b.write(root, f.handle, 0n, Buffer.from(`file ${i}\n`), 'unstable');
    }
    ({ d, get } = await cairnd(lab, dataDir, metrics, running));
    const seen: HealProgress[] = [];
    const problems = new Set<string>();
    let last: unknown;
    await until(() => `brick back, heal done: ${JSON.stringify(last)}`, 180_000, async () => {
      const v = await get('/pools/ops');
      last = { v, seen: seen.length };
      for (const p of v.problems) problems.add(p.message.replace(/\d+ entr(y|ies)|about .* left|\d+ s$/g, '…'));
      if (v.heal) seen.push(v.heal);
      // Few CLI calls of our own: they compete with the driver's for glusterd's volume lock.
      return v.heal === null && v.problems.length === 0 && seen.length > 0 && (await brickStatus(lab, 'ops')).every((x) => x.online);
    });
    t.diagnostic(`problems shown: ${[...problems].join(' | ')}`);
    const distinct = seen.filter((h, i) => i === 0 || h.sampledAt !== seen[i - 1]!.sampledAt);
    t.diagnostic(`heal samples (pending/rate/eta): ${distinct.map((h) => `${h.pending}/${h.ratePerSec}/${h.etaSeconds}`).join(' ')}`);
    assert.ok(seen.some((h) => h.pending > 0), 'pending > 0 seen');
    const h = seen.find((x) => x.pending > 0)!;
    assert.ok(h.perBrick.length >= 2 && h.perBrick.every((x) => typeof x.brick === 'string' && Number.isInteger(x.pending)), JSON.stringify(h));
    assert.ok(!Number.isNaN(Date.parse(h.sampledAt)));
    assert.ok(seen.some((x) => x.ratePerSec !== null && x.ratePerSec > 0 && x.etaSeconds !== null), 'a rate and an ETA while healing');
    // Updated while it ran (every 1 s here, 4 s by default); how far apart the
    // samples came is a figure, not an assertion (the CLI takes 1-3 s under load).
    const stamps = [...new Set(seen.map((x) => Date.parse(x.sampledAt)))].sort((x, y) => x - y);
    const gaps = stamps.slice(1).map((s, i) => s - stamps[i]!);
    assert.ok(stamps.length >= 2, 'heal progress was updated while heal ran');
    t.diagnostic(`sample gaps (ms): median ${gaps.sort((x, y) => x - y)[Math.floor(gaps.length / 2)]}, max ${Math.max(...gaps)}`);
    const text = await metrics.registry.metrics();
    assert.match(text, /cairn_brick_restarts_total\{pool="ops"\} 2/);
    assert.match(text, /cairn_heal_pending_total_entries\{pool="ops"\} 0/);
    assert.equal((await readdir(join(victim.brickDir, 'd'))).length, FILES, 'every file reached the returned brick');
  });

  await t.test('a dead self-heal daemon is seen by the watch and restarted', async () => {
    const shdPid = async () => (await lab.volumes.status('ops', { detail: false })).daemons.find((x) => x.name === 'Self-heal Daemon' && x.host === 'localhost' && x.online)?.pid ?? undefined;
    const pid = await shdPid();
    assert.ok(pid, 'the self-heal daemon runs');
    await killAndWait([pid]);
    let seen: unknown;
    const back = await until(() => `the watch brings the self-heal daemon back: ${JSON.stringify(seen)}`, 60_000, async () => {
      seen = (await get('/pools/ops')).problems;
      return shdPid();
    });
    assert.notEqual(back, pid);
    assert.match(await metrics.registry.metrics(), /cairn_brick_restarts_total\{pool="ops"\} 3/);
    // It heals again: a file written while a brick is down reaches that brick.
    const victim = bricks[1]!;
    const bpid = (await brickStatus(lab, 'ops')).find((x) => x.brick === victim.name && x.online)?.pid;
    assert.ok(bpid);
    await d.close();
    await killAndWait([bpid]);
    const f = await b.create(root, await b.root(), 'after-shd', { mode: 'guarded', attrs: { mode: 0o644 } });
    await b.write(root, f.handle, 0n, Buffer.from('healed by the new self-heal daemon'), 'file_sync');
    ({ d, get } = await cairnd(lab, dataDir, metrics, running));
    await until('healed onto the restarted brick', 120_000, async () => {
      const v = await get('/pools/ops');
      return v.heal === null && v.problems.length === 0 && (await readFile(join(victim.brickDir, 'after-shd'), 'utf8').catch(() => '')) === 'healed by the new self-heal daemon';
    });
  });

  await t.test('after a reboot the brick disks are mounted by filesystem UUID; a bare mount point is never used', async () => {
    await d.close();
    const pids = (await brickStatus(lab, 'ops')).map((x) => x.pid).filter((p): p is number => !!p);
    await killAndWait(pids);
    const old = bricks.map((x) => x.device);
    for (const br of bricks) {
      await umountWhenFree(br.mountPoint);
      await detachLoopDisk(br.device);
      br.device = ''; // detached: the lab's teardown must not detach a name someone else now holds
    }
    for (const [i, br] of bricks.slice(0, 2).entries()) {
      // A loop device is freed when its last user lets go: a mount namespace
      // made elsewhere on this shared machine while the brick was mounted may
      // hold it. Then the disk keeps its old name (still found by UUID).
      if (await released(old[i]!, br.loopFile)) br.device = await reattach(lab.dir, br.loopFile);
      else br.device = old[i]!;
    }
    t.diagnostic(`loop devices after "reboot": ${bricks.map((x) => x.device || '(absent)').join(', ')} (before: ${old.join(', ')})`);
    const absent = bricks[2]!;
    // Someone made the brick directory in the bare mount point of the absent disk.
    await mkdir(absent.brickDir);
    // The record of the second brick is lost (as with a reinstalled root filesystem): the state still names its disk.
    await rm(`${bricks[1]!.mountPoint}.json`);

    {
      const rec = JSON.parse(await readFile(`${bricks[0]!.mountPoint}.json`, 'utf8')) as { fsUuid: string };
      const found = await run('blkid', ['-c', '/dev/null', '-o', 'device', '-t', `UUID=${rec.fsUuid}`]).catch((e: { stdout?: string; code?: number }) => ({ stdout: `exit ${e.code} ${e.stdout}` }));
      const loops = (await run('losetup', ['-l', '-n', '-O', 'NAME,BACK-FILE'])).stdout.split('\n').filter((l) => l.includes(lab.dir));
      t.diagnostic(`before the restart: blkid finds ${JSON.stringify(found.stdout.trim())}; lab loops: ${JSON.stringify(loops)}`);
    }
    // Another appliance that shares this root filesystem (as lab nodes do) sees
    // the brick records but leaves bricks of other hosts alone.
    const other = new GlusterPoolDriver({ cli: lab.cli, host: 'another-appliance' });
    const r = await other.apply(d.store.state, new AbortController().signal);
    await other.close();
    assert.ok(!(await mountPoints()).has(bricks[0]!.mountPoint), `not mounted by another appliance: ${JSON.stringify(r.problems)}`);
    assert.ok((await brickStatus(lab, 'ops')).every((x) => !x.online));

    ({ d, get } = await cairnd(lab, dataDir, metrics, running));
    await until('first pass', 60_000, async () => d.reconciler.status().appliedRevision !== null);
    const points = await mountPoints();
    let v = await get('/pools/ops');
    assert.ok(points.has(bricks[0]!.mountPoint) && points.has(bricks[1]!.mountPoint), `the two attached disks are mounted again: ${JSON.stringify(v.problems)}`);
    const restored = JSON.parse(await readFile(`${bricks[1]!.mountPoint}.json`, 'utf8')) as { fsUuid: string; brickDir: string };
    assert.equal(restored.fsUuid, fsUuids[1], 'the lost record is written again from the state');
    assert.equal(restored.brickDir, bricks[1]!.brickDir);
    assert.ok(!points.has(absent.mountPoint));
    const msgs = v.problems.map((p) => p.message).join('\n');
    assert.match(msgs, /its disk \(XFS filesystem UUID [0-9a-f-]+\) is not attached/);
    assert.match(msgs, /not restarting .*volume start force would use it/);
    assert.ok((await brickStatus(lab, 'ops')).every((x) => !x.online), 'no brick started while the bare brick directory exists');
    assert.deepEqual(await readdir(absent.brickDir), [], 'nothing written into the bare mount point');
    const xattrs = await run('getfattr', ['-d', '-m', '.', absent.brickDir]);
    assert.doesNotMatch(xattrs.stdout, /volume-id/, 'not stamped as a brick');

    // Without that directory the two bricks come back; the absent disk stays a problem.
    await rmdir(absent.brickDir);
    await d.reconciler.trigger();
    await until('two bricks online', 60_000, async () => {
      const st = await brickStatus(lab, 'ops');
      return st.filter((x) => x.online).length === 2;
    });
    v = await get('/pools/ops');
    assert.ok(v.problems.some((p) => /ops-3.*its disk .* is not attached; replace the brick/.test(p.message)), JSON.stringify(v.problems));
    assert.deepEqual(await readdir(absent.mountPoint), [], 'the bare mount point stays empty');
    const rd = await retrying(() => b.read(root, top.handle, 0n, 100));
    assert.equal(rd.data.toString(), 'written while healthy', 'volume online with two of three bricks');

    // The disk returns: mounted, its brick restarted, healed.
    absent.device = await reattach(lab.dir, absent.loopFile);
    await d.reconciler.trigger();
    await until('all bricks online, nothing pending', 120_000, async () => {
      const st = await brickStatus(lab, 'ops');
      v = await get('/pools/ops');
      if (!st.every((x) => x.online)) await d.reconciler.trigger();
      return st.every((x) => x.online) && v.problems.length === 0 && v.heal === null;
    });
    assert.ok((await mountPoints()).has(absent.mountPoint));
    assert.equal((await readFile(join(absent.brickDir, 'before'), 'utf8')), 'written while healthy');

    // The state names another filesystem for the second brick (its disk was swapped): a problem, with both UUIDs.
    const swapped = '0b0b0b0b-1111-2222-3333-444444444444';
    const setUuid = (u: string) => d.store.update('test', 'brick disk identity', (s) => {
      const p = s.pools.find((x) => x.id === 'ops');
      if (p?.kind === 'gluster') p.bricks[1] = { ...p.bricks[1]!, fsUuid: u };
    });
    await setUuid(swapped);
    await d.reconciler.trigger();
    v = await until('swapped disk reported', 30_000, async () => {
      const view = await get('/pools/ops');
      return view.problems.some((p) => p.message.includes(swapped)) && view;
    });
    assert.ok(v.problems.some((p) => new RegExp(`ops-2.*${fsUuids[1]}.* is not the brick's disk \\(${swapped}\\)`).test(p.message)), JSON.stringify(v.problems));
    await setUuid(fsUuids[1]!);
    await d.reconciler.trigger();
    await until('problem gone with the right filesystem named', 30_000, async () => (await get('/pools/ops')).problems.length === 0);
  });
});
