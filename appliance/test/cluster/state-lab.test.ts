/**
 * The shared desired state on real appliances: three lab nodes each run a
 * full `cairnd run` (API on the node's address, NFS on 2049), joined
 * through the API (join token on B, POST /cluster/members on A). Then:
 *
 *  - the `cairn-state` volume exists (replica 3 after the third joins) and
 *    every cairnd reports its shared state synced;
 *  - a gluster pool and an NFS share created through node1's API appear
 *    in node2's and node3's GET /shares, and node2 serves the share over
 *    NFS (libnfs `nfs-ls`/`nfs-cat` through node2's address read a file
 *    written through node1);
 *  - node3's link is cut: a change through node3 is refused with 503
 *    `cluster_no_quorum` (its document unchanged), while node1 (majority)
 *    still changes the state; after the link returns node3 catches up.
 *  - removing node3 is refused (409 holds_bricks: its replica-3 brick has
 *    nowhere to go); node4 joins; removing node3 again runs as a task that
 *    replace-bricks its data and state bricks onto node4, follows heal
 *    (progress shown), updates every appliance's pool, and detaches node3;
 *    the 16 MiB file is on node4's new brick and node4 serves the share.
 *
 * Root only (namespaces, loop devices, FUSE); skipped otherwise.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { hashPassword, ntHash } from '../../src/auth/password.js';
import { TokenStore } from '../../src/auth/tokens.js';
import { initialState } from '../../src/state/schema.js';
import { StateStore } from '../../src/state/store.js';
import { Lab, sleep, startCairndOn, type LabCairnd } from '../lab/lab.js';
import { pollUntil } from './helpers.js';

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;

interface Appliance {
  c: LabCairnd;
  token: string;
  api: (method: string, path: string, body?: unknown, timeoutMs?: number) => Promise<{ status: number; json: any }>;
  /** The same call made from inside the node (reaches its API while its link is cut). */
  local: (method: string, path: string, body?: unknown, timeoutMs?: number) => Promise<{ status: number; json: any }>;
}

/** Runs inside a node: argv = url, token, method, body; prints status and body. */
const FETCH_SCRIPT = `
const [url, token, method, body] = process.argv.slice(1);
fetch(url, { method, headers: { authorization: 'Bearer ' + token, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body } : {}) })
  .then(async (r) => process.stdout.write(JSON.stringify({ status: r.status, text: await r.text() })))
  .catch((e) => { process.stderr.write(String(e)); process.exit(1); });`;

async function appliance(lab: Lab, name: string): Promise<Appliance> {
  const node = lab.node(name);
  const dataDir = join(node.state.dir, 'cairn');
  // An admin and an API token made before the start (both on disk): no setup round trip.
  // Every node has an `admin`, so its token still has an owner once the cluster's users replace its own.
  const store = await StateStore.open(join(dataDir, 'state'), { initial: () => initialState(dataDir) });
  const hash = await hashPassword('admin-password-1', { N: 1024, r: 8, p: 1 });
  await store.update('lab', 'admin', (s) => void s.users.push({ name: 'admin', uid: 1000, fullName: 'Admin', role: 'admin', passwordHash: hash, ntHash: ntHash('admin-password-1'), enabled: true }));
  const tokens = await TokenStore.open(join(dataDir, 'auth'));
  const { token } = await tokens.create({ name: 'lab', role: 'admin', createdBy: 'admin' });
  const c = await startCairndOn(node, { dataDir });
  const api = async (method: string, path: string, body?: unknown, timeoutMs = 60_000) => {
    const call = () =>
      fetch(`${c.url}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    let res: Response;
    try {
      res = await call();
    } catch (e) {
      // Say why (a dead cairnd shows in its log), and retry a GET once (a reused keep-alive connection may just have been closed).
      const why = `${method} ${path} on ${name}: ${(e as Error).message} (${String((e as { cause?: unknown }).cause)})\n${c.log().split('\n').slice(-15).join('\n')}`;
      if (method !== 'GET') throw new Error(why);
      process.stderr.write(`${why}\n`);
      res = await call();
    }
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  };
  const local = async (method: string, path: string, body?: unknown, timeoutMs = 60_000) => {
    const { stdout } = await node.exec([process.execPath, '-e', FETCH_SCRIPT, `${c.url}/api/v1${path}`, token, method, body === undefined ? '' : JSON.stringify(body)], timeoutMs);
    const r = JSON.parse(stdout) as { status: number; text: string };
    return { status: r.status, json: r.text ? JSON.parse(r.text) : undefined };
  };
  return { c, token, api, local };
}

const until = <T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs: number, logs?: () => string) => pollUntil(what, fn, timeoutMs, logs, 500);

/** What each node's glusterd says about the volumes and peers (for a failure's report). */
async function glusterViews(lab: Lab): Promise<string> {
  const out: string[] = [];
  for (const n of lab.nodes) {
    for (const args of [['peer', 'status'], ['volume', 'status'], ['volume', 'heal', 'cairn-state', 'info'], ['volume', 'heal', 'vm', 'info']]) {
      const r = await n.exec(['gluster', '--mode=script', ...args], 30_000).then((x) => x.stdout, (e: Error & { stdout?: string }) => `${e.message} ${e.stdout ?? ''}`);
      out.push(`---- ${n.name}: gluster ${args.join(' ')}\n${r.trim()}`);
    }
  }
  return out.join('\n');
}

const nfsUrl = (ip: string, path: string) => `nfs://${ip}${path}?version=3&nfsport=2049&mountport=2049`;

test('full cairnds share one desired state: a share made on node1 is served by node2; a cut-off node cannot write; a removed node\'s bricks move first', { skip: !isRoot && 'needs root', timeout: 420_000 }, async (t) => {
  const tmp = await mkdtemp(join(tmpdir(), 'cairn-state-lab-'));
  t.after(() => rm(tmp, { recursive: true, force: true }));
  const t0 = Date.now();
  // A private /tmp per node: glusterd's add-brick commit writes /tmp/VOLUME.tcp-fuse.vol (see LabOptions.privateTmp).
  const lab = await Lab.up(4, { privateTmp: true });
  // CAIRN_LAB_LOGS=DIR keeps the nodes' Gluster and cairnd logs (the lab itself is removed; after hooks run in the order they were added).
  t.after(async () => {
    const keep = process.env['CAIRN_LAB_LOGS'];
    if (keep) for (const n of lab.nodes) await cp(join(n.state.dir, 'log'), join(keep, n.name), { recursive: true }).catch(() => undefined);
  });
  t.after(() => lab.down());
  const [n1, n2, n3, n4] = await Promise.all(['node1', 'node2', 'node3', 'node4'].map((n) => appliance(lab, n))) as [Appliance, Appliance, Appliance, Appliance];
  t.after(async () => {
    if (process.env['CAIRN_LAB_LOGS']) for (const a of [n1, n2, n3, n4]) t.diagnostic(`---- ${a.c.node.name}\n${a.c.log()}`);
  });
  const logs = () => [n1, n2, n3, n4].map((a) => `---- ${a.c.node.name}\n${a.c.log().split('\n').slice(-25).join('\n')}`).join('\n');
  t.diagnostic(`lab up, 4 cairnd listening in ${Date.now() - t0} ms`);

  // ---- join through the API ------------------------------------------------
  for (const b of [n2, n3]) {
    const tok = await b.api('POST', '/cluster/join-token');
    assert.equal(tok.status, 201, JSON.stringify(tok.json));
    const added = await n1.api('POST', '/cluster/members', { address: b.c.node.ip, token: tok.json.token }, 120_000);
    assert.equal(added.status, 201, JSON.stringify(added.json));
    assert.equal(added.json.hostname, b.c.node.name);
  }
  const info = await lab.node('node1').cli.run(['volume', 'info', 'cairn-state']);
  assert.match(JSON.stringify(info), /"replicaCount":"?3/, 'the state volume is replica 3 once three appliances joined');
  for (const a of [n1, n2, n3]) {
    const st = await until(`${a.c.node.name} synced`, async () => {
      const r = await a.api('GET', '/cluster');
      return r.json?.sharedState?.phase === 'synced' && r.json;
    }, 60_000, logs);
    assert.equal(st.members.length, 3);
    assert.equal(st.quorum, true);
    assert.equal(st.sharedState.writable !== false, true);
  }
  t.diagnostic(`joined and synced at ${Date.now() - t0} ms`);

  // The document's lock (flock through Gluster's FUSE client) holds across appliances.
  const lockOf = (a: Appliance) => join(a.c.dataDir, 'cluster', 'state', '.lock');
  const holder = lab.node('node1').spawn(['flock', '--exclusive', '--close', lockOf(n1), 'sh', '-c', 'echo held; sleep 20']);
  t.after(() => void holder.kill('SIGKILL'));
  await new Promise<void>((resolve) => holder.stdout!.once('data', () => resolve()));
  await assert.rejects(lab.node('node2').exec(['flock', '--nonblock', '--conflict-exit-code', '75', lockOf(n2), 'true']), (e: { code?: number }) => e.code === 75, 'node2 cannot take the lock node1 holds');
  holder.kill('SIGKILL');
  await until('node2 takes the lock once node1 let go', async () => (await lab.node('node2').exec(['flock', '--nonblock', lockOf(n2), 'true'])) !== undefined, 20_000);

  // ---- a pool and a share made on node1 ----------------------------------
  const bricks = lab.nodes.slice(0, 3).map((n) => ({ host: n.name, path: join(n.state.brickRoot, 'vm') }));
  const pool = await n1.api('POST', '/pools', { id: 'vm', kind: 'gluster', replica: 3, bricks });
  assert.equal(pool.status, 201, JSON.stringify(pool.json));
  const client = { match: '*', access: 'rw', squash: 'no_root_squash', secure: false };
  const share = await n1.api('POST', '/shares', { name: 'vms', pool: 'vm', nfs: { enabled: true, clients: [client] } });
  assert.equal(share.status, 201, JSON.stringify(share.json));
  const tShare = Date.now();
  for (const a of [n2, n3]) {
    await until(`${a.c.node.name} lists share vms`, async () => (await a.api('GET', '/shares')).json.items.some((s: { name: string }) => s.name === 'vms'), 10_000, logs);
  }
  t.diagnostic(`share visible on node2 and node3 ${Date.now() - tShare} ms after it was made on node1`);

  // Written through node1's NFS server, read through node2's.
  const src = join(tmp, 'hello.txt');
  await writeFile(src, 'written through node1\n');
  await until('node1 serves vms', async () => {
    await run('nfs-cp', [src, `${nfsUrl(n1.c.node.ip, '/vms')}`.replace('/vms?', '/vms/hello.txt?')], { timeout: 20_000, killSignal: 'SIGKILL' });
    return true;
  }, 120_000, logs);
  const listed = await until('node2 serves vms', async () => {
    const { stdout } = await run('nfs-ls', [nfsUrl(n2.c.node.ip, '/vms')], { timeout: 20_000, killSignal: 'SIGKILL' });
    return stdout.includes('hello.txt') && stdout;
  }, 120_000, logs);
  assert.match(listed, /hello\.txt/);
  const { stdout: cat } = await run('nfs-cat', [nfsUrl(n2.c.node.ip, '/vms/hello.txt')], { timeout: 20_000, killSignal: 'SIGKILL' });
  assert.equal(cat, 'written through node1\n');
  t.diagnostic(`node2 serves the share at ${Date.now() - t0} ms`);

  // ---- partition: node3 alone is a minority ------------------------------
  await lab.node('node3').cutLink();
  t.after(() => lab.node('node3').restoreLink().catch(() => undefined));
  const tCut = Date.now();
  const refused = await n3.local('POST', '/users', { name: 'carol', uid: 1203, fullName: 'Carol', password: 'carol-password-1' }, 90_000);
  t.diagnostic(`node3's change refused after ${Date.now() - tCut} ms: ${refused.status} ${JSON.stringify(refused.json)}`);
  assert.equal(refused.status, 503, JSON.stringify(refused.json));
  assert.equal(refused.json.error.code, 'cluster_no_quorum');
  assert.match(refused.json.error.message, /majority/);
  assert.ok(!(await n3.local('GET', '/users')).json.items.some((u: { name: string }) => u.name === 'carol'), "node3's document is unchanged");
  const view3 = (await n3.local('GET', '/cluster', undefined, 60_000)).json;
  assert.equal(view3.quorum, false, 'node3 says it has no quorum');

  const ok = await n1.api('POST', '/users', { name: 'dave', uid: 1204, fullName: 'Dave', password: 'dave-password-1' }, 90_000);
  assert.equal(ok.status, 201, `the majority side still changes the state: ${JSON.stringify(ok.json)}`);
  await until('node2 sees dave', async () => (await n2.api('GET', '/users')).json.items.some((u: { name: string }) => u.name === 'dave'), 10_000, logs);

  await lab.node('node3').restoreLink();
  const tBack = Date.now();
  await until('node3 catches up', async () => (await n3.api('GET', '/users')).json.items.some((u: { name: string }) => u.name === 'dave'), 90_000, logs);
  t.diagnostic(`node3 caught up ${Date.now() - tBack} ms after its link returned`);
  const again = await n3.api('POST', '/users', { name: 'carol', uid: 1203, fullName: 'Carol', password: 'carol-password-1' }, 90_000);
  assert.equal(again.status, 201, JSON.stringify(again.json));
  await until('node1 sees carol', async () => (await n1.api('GET', '/users')).json.items.some((u: { name: string }) => u.name === 'carol'), 10_000, logs);

  // ---- removing an appliance moves its bricks first ------------------------
  const refusedRemoval = await n1.api('DELETE', '/cluster/members/node3');
  assert.equal(refusedRemoval.status, 409, JSON.stringify(refusedRemoval.json));
  assert.equal(refusedRemoval.json.error.code, 'holds_bricks');
  assert.match(refusedRemoval.json.error.message, /volume vm: no other appliance can take brick node3:.*add an appliance first/);

  // node4 joins; node3's bricks move onto it. This hung in about half the runs
  // until the removal asked for heal again when its count stalled (a pending
  // mark made after the self-heal daemon's one crawl, evacuate.ts); every wait
  // of the removal is bounded now, so it ends done or failed with a reason.
  const tok4 = await n4.api('POST', '/cluster/join-token');
  const added4 = await n1.api('POST', '/cluster/members', { address: n4.c.node.ip, token: tok4.json.token }, 120_000);
  assert.equal(added4.status, 201, JSON.stringify(added4.json));
  await until('node4 synced', async () => (await n4.api('GET', '/cluster')).json.sharedState?.phase === 'synced', 60_000, logs);
  assert.ok((await n4.api('GET', '/shares')).json.items.some((s: { name: string }) => s.name === 'vms'), 'node4 adopted the cluster state');
  const big = join(tmp, 'big.bin');
  await run('dd', ['if=/dev/urandom', `of=${big}`, 'bs=1M', 'count=16', 'status=none']);
  await run('nfs-cp', [big, nfsUrl(n1.c.node.ip, '/vms/big.bin')], { timeout: 60_000, killSignal: 'SIGKILL' });

  const tRemove = Date.now();
  const started = await n1.api('DELETE', '/cluster/members/node3');
  assert.equal(started.status, 202, JSON.stringify(started.json));
  const seen = new Set<string>();
  let task;
  try {
    task = await until('the removal task ends', async () => {
      const r = (await n1.api('GET', `/tasks/${started.json.id}`)).json;
      seen.add(`${Math.round(r.progress * 100)}% ${r.message}`);
      return r.state !== 'running' && r;
    }, 300_000, logs);
  } catch (e) {
    t.diagnostic(await glusterViews(lab));
    throw e;
  } finally {
    t.diagnostic(`removal of node3 took ${Date.now() - tRemove} ms; progress seen:\n  ${[...seen].join('\n  ')}`);
  }
  if (task.state !== 'done') t.diagnostic(await glusterViews(lab));
  assert.equal(task.state, 'done', JSON.stringify(task));
  assert.ok([...seen].some((m) => /healing onto node4/.test(m)), 'heal progress was shown');

  const cluster = (await n1.api('GET', '/cluster')).json;
  assert.deepEqual(cluster.members.map((m: { hostname: string }) => m.hostname).sort(), ['node1', 'node2', 'node4']);
  const vmInfo = JSON.stringify(await lab.node('node1').cli.run(['volume', 'info', 'vm']));
  assert.ok(!vmInfo.includes('node3:') && vmInfo.includes('node4:'), vmInfo);
  const stateInfo = JSON.stringify(await lab.node('node1').cli.run(['volume', 'info', 'cairn-state']));
  assert.ok(!stateInfo.includes('node3:') && stateInfo.includes('node4:'), stateInfo);
  for (const a of [n1, n2, n4]) {
    await until(`${a.c.node.name}'s pool vm lists node4's brick`, async () => {
      const pool = (await a.api('GET', '/pools/vm')).json;
      return pool.bricks.some((b: { host: string }) => b.host === 'node4') && !pool.bricks.some((b: { host: string }) => b.host === 'node3');
    }, 10_000, logs);
  }
  // The data is on node4's new brick, and node4 serves it.
  const moved = (await n1.api('GET', '/pools/vm')).json.bricks.find((b: { host: string }) => b.host === 'node4');
  const onBrick = await readFile(join(moved.path, 'vms', 'big.bin'));
  assert.deepEqual(onBrick, await readFile(big), 'the moved brick holds the file, healed');
  const { stdout: cat4 } = await run('nfs-cat', [nfsUrl(n4.c.node.ip, '/vms/hello.txt')], { timeout: 20_000, killSignal: 'SIGKILL' });
  assert.equal(cat4, 'written through node1\n');
  // node3 notices it was removed: it stops syncing and may change its own document again.
  await until('node3 leaves the shared state', async () => {
    const st = (await n3.api('GET', '/cluster')).json.sharedState;
    return st.phase === 'standalone' && !st.mounted;
  }, 30_000, logs);
  const own = await n3.api('POST', '/users', { name: 'erin', uid: 1205, fullName: 'Erin', password: 'erin-password-1' });
  assert.equal(own.status, 201, JSON.stringify(own.json));
  await sleep(2500);
  assert.ok(!(await n1.api('GET', '/users')).json.items.some((u: { name: string }) => u.name === 'erin'), 'a removed appliance no longer writes the cluster state');

  for (const a of [n1, n2, n3, n4]) await a.c.stop(3000);
});
