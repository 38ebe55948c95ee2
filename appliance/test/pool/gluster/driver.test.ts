/**
 * The gluster pool wired into the appliance's drivers, against a real
 * glusterd (the lab's private namespaces): a gluster pool in the state
 * becomes a started, tuned replica-3 volume; a share on it is served by
 * the NfsDriver (gfapi backend, libnfs client) and by the SmbDriver
 * (vfs_glusterfs, smbclient), the same files seen on both and on every
 * brick; a pool that leaves the state keeps its volume and is reported;
 * with glusterd stopped the pool is a problem and a local share is still
 * served.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../src/log.js';
import { NfsDriver } from '../../../src/nfs/driver.js';
import { GlusterPoolDriver } from '../../../src/pool/gluster/driver.js';
import { LocalPoolDriver } from '../../../src/pool/local/driver.js';
import { SmbDriver } from '../../../src/smb/driver.js';
import { ntHash } from '../../../src/smb/users.js';
import { DEFAULT_SMB, initialState, type Share, type State } from '../../../src/state/schema.js';
import { Metrics } from '../../../src/system/metrics.js';
import { tool } from '../../nfs/helpers/nfs-serve.js';
import { makeClient } from '../../smb/client.js';
import { GlusterLab, killAndWait, type LabBrick } from './lab.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const UID = 10001;

function share(name: string, pool: string, path: string): Share {
  return {
    name,
    pool,
    path,
    nfs: { enabled: true, clients: [{ match: '127.0.0.1', access: 'rw', squash: 'all_squash', anonUid: UID, anonGid: UID, secure: false }] },
    smb: { ...DEFAULT_SMB, enabled: true, validUsers: ['alice'] },
  };
}

test('a gluster pool in the state becomes a served volume (NFS over gfapi, SMB over vfs_glusterfs)', async (t) => {
  const drivers: Array<{ close(): Promise<void> }> = [];
  let dir: string | undefined;
  // Registered before the lab: after-hooks run in order, so servers stop before glusterd goes.
  t.after(async () => {
    for (const d of drivers.reverse()) await d.close().catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const lab = await GlusterLab.start(t);
  const bricks: LabBrick[] = [];
  for (let i = 1; i <= 3; i++) bricks.push(await lab.addBrick(`gwd-${i}`, 512 << 20));
  const arb: LabBrick[] = [];
  for (let i = 1; i <= 3; i++) arb.push(await lab.addBrick(`gwa-${i}`, 512 << 20));

  dir = await mkdtemp(join(tmpdir(), 'cairn-gluster-driver-'));
  await chmod(dir, 0o755);
  const log = createLogger('silent');
  const state: State = initialState(dir);
  state.pools.push({ id: 'gv', kind: 'gluster', label: 'replicated', replica: 3, arbiter: 0, bricks: bricks.map((b) => ({ host: lab.host, path: b.brickDir })) });
  state.pools.push({ id: 'ga', kind: 'gluster', label: 'replicated', replica: 2, arbiter: 1, bricks: arb.map((b) => ({ host: lab.host, path: b.brickDir })) });
  state.shares.push(share('vmstore', 'gv', 'vm/store'), share('docs', 'local', 'docs'));
  state.users.push({ name: 'alice', uid: UID, fullName: 'Alice', passwordHash: 'scrypt$unused', ntHash: ntHash('alice-pw'), enabled: true });
  const signal = new AbortController().signal;

  // The pool driver creates, tunes and starts the volume, and makes the share directory.
  const metrics = new Metrics();
  const gluster = new GlusterPoolDriver({ cli: lab.cli, metrics, log });
  drivers.push(gluster);
  let r = await gluster.apply(state, signal);
  assert.deepEqual(r.problems, []);
  const info = await lab.volumes.info('gv');
  assert.equal(info.state, 'Started');
  assert.equal(info.replicaCount, 3);
  assert.deepEqual(info.bricks.map((b) => b.name), bricks.map((b) => b.name));
  assert.equal(info.options['features.shard'], 'on', 'virt group applied');
  assert.equal(info.options['client.tcp-user-timeout'], '5');
  assert.equal(info.options['performance.write-behind'], 'off', 'SMB serves it: write-behind off');
  assert.equal(info.options['user.cairn.pool'], 'gv', 'marked as the volume of pool gv');
  for (const b of bricks) assert.equal((await stat(join(b.brickDir, 'vm', 'store'))).mode & 0o777, 0o777, b.name);
  const ainfo = await lab.volumes.info('ga');
  assert.equal(ainfo.state, 'Started');
  assert.equal(ainfo.arbiterCount, 1, 'replica 2 + arbiter');
  assert.deepEqual(ainfo.bricks.map((b) => b.isArbiter), [false, false, true]);
  assert.equal(ainfo.options['performance.write-behind'], undefined, 'no SMB share on ga: write-behind left alone');
  // Idempotent: a second pass changes nothing and reports nothing.
  r = await gluster.apply(state, signal);
  assert.deepEqual(r.problems, []);
  assert.equal((await lab.volumes.list()).filter((v) => v === 'gv').length, 1);
  const text = await metrics.registry.metrics();
  assert.match(text, new RegExp(`cairn_brick_healthy\\{pool="gv",brick="${bricks[0]!.name.replace(/[.]/g, '\\.')}"\\} 1`));
  assert.match(text, /cairn_heal_pending_entries\{pool="gv",brick="[^"]+"\} 0/);
  assert.match(text, /cairn_pool_capacity_bytes\{pool="gv"\} [1-9]/);
  assert.ok((gluster.poolCapacity('gv')?.totalBytes ?? 0) > 0, 'capacity known');

  const local = new LocalPoolDriver();
  assert.deepEqual((await local.apply(state, signal)).problems, []);

  // NFS: the share is served from the volume through gfapi.
  const nfs = new NfsDriver({ dataDir: dir, log, port: 0, host: '127.0.0.1' });
  drivers.push(nfs);
  r = await nfs.apply(state, signal);
  assert.deepEqual(r.problems, []);
  const nfsPort = nfs.listeningPort!;
  const url = (exp: string, p: string) => `nfs://127.0.0.1/${exp}${p}?version=3&nfsport=${nfsPort}&mountport=${nfsPort}`;
  const viaNfs = randomBytes((1 << 20) + 3);
  await writeFile(join(dir, 'from-nfs.bin'), viaNfs);
  let out = await tool('nfs-cp', [join(dir, 'from-nfs.bin'), url('vmstore', '/from-nfs.bin')]);
  assert.equal(out.code, 0, out.stderr);
  out = await tool('nfs-cp', [url('vmstore', '/from-nfs.bin'), join(dir, 'back-nfs.bin')]);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(sha(await readFile(join(dir, 'back-nfs.bin'))), sha(viaNfs));
  for (const b of bricks) {
    const st = await stat(join(b.brickDir, 'vm', 'store', 'from-nfs.bin'));
    assert.equal(st.uid, UID, `${b.name}: squashed to alice`);
    assert.equal(sha(await readFile(join(b.brickDir, 'vm', 'store', 'from-nfs.bin'))), sha(viaNfs), b.name);
  }

  // SMB: the same share through vfs_glusterfs; NFS's file is there, SMB's lands on the bricks.
  const smb = new SmbDriver({ dataDir: dir, log, port: 0 });
  drivers.push(smb);
  r = await smb.apply(state, signal);
  assert.deepEqual(r.problems, []);
  const client = await makeClient(join(dir, 'smbclient'), smb.listeningPort!);
  const viaSmb = randomBytes((2 << 20) + 5);
  await writeFile(join(dir, 'from-smb.bin'), viaSmb);
  const cred = { user: 'alice', password: 'alice-pw', cwd: dir };
  const s = await client.run('vmstore', 'put from-smb.bin from-smb.bin; get from-nfs.bin nfs-via-smb.bin; ls', cred);
  assert.equal(s.status, null, s.out);
  assert.match(s.out, /from-smb\.bin\s+A\s+2097157/);
  assert.equal(sha(await readFile(join(dir, 'nfs-via-smb.bin'))), sha(viaNfs));
  for (const b of bricks) assert.equal(sha(await readFile(join(b.brickDir, 'vm', 'store', 'from-smb.bin'))), sha(viaSmb), b.name);
  out = await tool('nfs-cp', [url('vmstore', '/from-smb.bin'), join(dir, 'smb-via-nfs.bin')]);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(sha(await readFile(join(dir, 'smb-via-nfs.bin'))), sha(viaSmb));

  // A brick dies: the share still reads; written while the brick is down, and the
  // self-heal daemon held off, so entries stay pending once the brick is back.
  const victim = (await lab.volumes.status('gv')).bricks.find((b) => b.brick === bricks[1]!.name)!;
  assert.ok(victim.pid);
  await killAndWait([victim.pid]);
  out = await tool('nfs-cp', [url('vmstore', '/from-smb.bin'), join(dir, 'degraded.bin')]);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(sha(await readFile(join(dir, 'degraded.bin'))), sha(viaSmb));
  await lab.volumes.set('gv', 'cluster.self-heal-daemon', 'off');
  out = await tool('nfs-cp', [join(dir, 'from-nfs.bin'), url('vmstore', '/while-down.bin')]);
  assert.equal(out.code, 0, out.stderr);
  // The next pass finds the brick down with its disk mounted and restarts it (volume start force).
  r = await gluster.apply(state, signal);
  assert.ok(!r.problems.some((p) => /down/.test(p.message)), JSON.stringify(r.problems));
  const after = (await lab.volumes.status('gv')).bricks;
  assert.ok(
    after.every((b) => b.online),
    `the dead brick is back: ${JSON.stringify(after.map((b) => [b.brick, b.online]))} ${JSON.stringify(r.problems)}`,
  );
  assert.match(await metrics.registry.metrics(), /cairn_brick_restarts_total\{pool="gv"\} 1/);
  const until = async (what: string, ok: (msgs: string[]) => boolean) => {
    const end = Date.now() + 60_000;
    for (;;) {
      r = await gluster.apply(state, signal);
      const msgs = r.problems.filter((p) => p.objectId === 'gv').map((p) => p.message);
      if (ok(msgs)) return msgs;
      if (Date.now() > end) assert.fail(`${what}: ${JSON.stringify(msgs)}`);
      await new Promise((res) => setTimeout(res, 500));
    }
  };
  const healing = await until('heal pending', (m) => m.length > 0 && !m.some((x) => /down/.test(x)));
  assert.match(healing.join('; '), /\d+ entr(y|ies) pending heal/);
  assert.match(await metrics.registry.metrics(), /cairn_heal_pending_entries\{pool="gv",brick="[^"]+"\} [1-9]/);
  await lab.volumes.set('gv', 'cluster.self-heal-daemon', 'on');
  await lab.volumes.triggerHeal('gv');
  await until('healed', (m) => m.length === 0);

  // A state that disagrees with an existing volume's layout is reported, never "fixed".
  const other: State = structuredClone(state);
  const ga = other.pools.find((p) => p.id === 'ga')!;
  if (ga.kind === 'gluster') Object.assign(ga, { replica: 3, arbiter: 0 });
  r = await gluster.apply(other, signal);
  const gaProblems = r.problems.filter((p) => p.objectId === 'ga').map((p) => p.message);
  assert.equal(gaProblems.length, 1, JSON.stringify(gaProblems));
  assert.match(gaProblems[0]!, /has replica 3 with 1 arbiter\(s\) but the state says replica 3 with 0/);
  assert.equal((await lab.volumes.info('ga')).arbiterCount, 1);

  // A pool that leaves the state keeps its volume, and is reported.
  const without: State = structuredClone(state);
  without.pools = without.pools.filter((p) => p.id !== 'gv');
  without.shares = without.shares.filter((x) => x.pool !== 'gv');
  r = await gluster.apply(without, signal);
  assert.equal(r.problems.length, 1, JSON.stringify(r.problems));
  assert.equal(r.problems[0]!.objectKind, 'volume');
  assert.equal(r.problems[0]!.objectId, 'gv');
  assert.equal((await lab.volumes.info('gv')).state, 'Started');
  // Also after a restart of cairnd: the volume carries its pool mark.
  r = await new GlusterPoolDriver({ cli: lab.cli }).apply(without, signal);
  assert.deepEqual(r.problems.map((p) => [p.objectKind, p.objectId]), [['volume', 'gv']]);

  // glusterd stopped: a clear problem for the pool, no throw; the local share is still served.
  const glusterdPid = Number((await readFile(join(lab.dir, 'glusterd.pid'), 'utf8')).trim());
  assert.ok(glusterdPid > 0);
  await killAndWait([glusterdPid]);
  r = await gluster.apply(state, signal);
  assert.deepEqual(r.problems.map((p) => [p.objectKind, p.objectId]), [['pool', 'gv'], ['pool', 'ga']]);
  for (const p of r.problems) assert.match(p.message, /glusterd is not running or not reachable/);
  r = await nfs.apply(state, signal);
  assert.deepEqual(r.problems, []);
  await writeFile(join(dir, 'pools', 'local', 'docs', 'local.txt'), 'still here\n');
  out = await tool('nfs-cat', [url('docs', '/local.txt')]);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout, 'still here\n');
});
