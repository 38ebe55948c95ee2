/**
 * The shared desired state without Gluster: two appliances' stores and
 * syncs over one plain directory standing in for the mounted `cairn-state`
 * volume (the lab test, state-lab.test.ts, does it on real Gluster).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterError } from '../../src/cluster/errors.js';
import { mergeState, sharedPartOf } from '../../src/cluster/shared-state.js';
import { SharedStateFile } from '../../src/cluster/state-file.js';
import { ClusterStateSync, type StateVolumeAccess } from '../../src/cluster/state-sync.js';
import { DEFAULT_SMB, initialState, type State } from '../../src/state/schema.js';
import { StateStore } from '../../src/state/store.js';

type Share = State['shares'][number];
const share = (name: string, pool: string): Share => ({ name, pool, path: name, nfs: { enabled: true, clients: [{ match: '*', access: 'rw', squash: 'root_squash', anonUid: 65534, anonGid: 65534, secure: false }] }, smb: { ...DEFAULT_SMB } });
const gpool = { id: 'vm', kind: 'gluster' as const, label: 'replicated' as const, replica: 2, arbiter: 0, bricks: [{ host: 'a', path: '/b/1' }, { host: 'b', path: '/b/1' }] };
const user = { name: 'ann', uid: 1001, fullName: 'Ann', passwordHash: 'scrypt$x', ntHash: '0'.repeat(32), enabled: true };

/** Syncs to stop before the temp dirs go (after-hooks run in order). */
const running = new Set<ClusterStateSync>();

async function tempDir(t: { after: (fn: () => unknown) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-sync-'));
  t.after(async () => {
    for (const s of running) await s.stop();
    running.clear();
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

/** A fake state volume: `dir` is "mounted" once `exists` is set. */
function fakeAccess(seed: string, flags: { exists: boolean }): StateVolumeAccess {
  const mounted = new Set<string>();
  return {
    volume: 'cairn-state',
    exists: async () => flags.exists,
    firstBrickHost: async () => seed,
    isMounted: async (d) => mounted.has(d),
    mount: async (d) => void mounted.add(d),
    unmount: async (d) => void mounted.delete(d),
  };
}

async function appliance(root: string, name: string, volumeDir: string, flags: { exists: boolean }, founder?: () => Promise<boolean>) {
  const store = await StateStore.open(join(root, name), { initial: () => ({ ...initialState(join(root, name, 'data')), settings: { ...initialState('/x').settings, applianceName: name } }) });
  const sync = new ClusterStateSync({ store, hostname: name, mountDir: volumeDir, access: fakeAccess('a', flags), clustered: async () => true, pollMs: 50, ...(founder ? { founder } : {}) });
  running.add(sync);
  return { store, sync };
}

const until = async (what: string, ok: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

test('split and merge: gluster pools, their volumes and shares, users and groups are the cluster\'s; settings and local pools stay', () => {
  const s: State = { ...initialState('/srv'), pools: [...initialState('/srv').pools, gpool], shares: [share('home', 'local'), share('vms', 'vm')], users: [user] };
  const shared = sharedPartOf(s);
  assert.deepEqual(shared.pools.map((p) => p.id), ['vm']);
  assert.deepEqual(shared.shares.map((x) => x.name), ['vms']);
  assert.deepEqual(shared.users.map((u) => u.name), ['ann']);
  const other: State = { ...initialState('/other'), settings: { ...initialState('/x').settings, applianceName: 'b' }, shares: [share('scratch', 'local')] };
  const merged = mergeState(other, shared);
  assert.equal(merged.settings.applianceName, 'b');
  assert.deepEqual(merged.pools.map((p) => p.id), ['local', 'vm']);
  assert.equal((merged.pools[0] as { path: string }).path, '/other/pools/local');
  assert.deepEqual(merged.shares.map((x) => x.name), ['scratch', 'vms']);
  assert.deepEqual(merged.users, [user]);
});

test('a change on A reaches B through the shared document; local objects stay local; conflicts are refused', async (t) => {
  const root = await tempDir(t);
  const vol = join(root, 'volume');
  await mkdir(vol);
  const flags = { exists: true };
  const a = await appliance(root, 'a', vol, flags);
  await a.store.update('admin', 'add user', (s) => void s.users.push(user));
  await a.sync.start(5000);
  const head = await new SharedStateFile(vol).read();
  assert.equal(head?.revision, 1, 'A (the first brick) seeded the document');
  assert.deepEqual(head?.shared.users.map((u) => u.name), ['ann']);

  const b = await appliance(root, 'b', vol, flags);
  await b.store.update('admin', 'local share on b', (s) => void s.shares.push(share('scratch', 'local')));
  await b.sync.start(5000);
  assert.deepEqual(b.store.state.users.map((u) => u.name), ['ann'], 'B adopted the cluster document');
  assert.deepEqual(b.store.state.shares.map((x) => x.name), ['scratch'], "B's local share stays");
  assert.equal(b.sync.status().phase, 'synced');
  assert.equal(b.sync.status().revision, 1);

  await a.store.update('admin', 'create pool vm and share vms', (s) => {
    s.pools.push(gpool);
    s.shares.push(share('vms', 'vm'));
  });
  await until('B sees share vms', () => b.store.state.shares.some((x) => x.name === 'vms'));
  assert.deepEqual(b.store.state.shares.map((x) => x.name), ['scratch', 'vms']);
  assert.match(b.store.head.who, /^cluster:a$/);
  assert.equal(b.store.state.settings.applianceName, 'b');

  // A local-only change on B writes nothing to the shared document.
  await b.store.update('admin', 'rename b', (s) => void (s.settings.timezone = 'Europe/Berlin'));
  assert.equal((await new SharedStateFile(vol).read())?.revision, 2);
  assert.ok(!a.store.state.shares.some((x) => x.name === 'scratch'), "B's local share never reaches A");

  // B's change to a cluster-wide object reaches A.
  await b.store.update('admin', 'delete share vms', (s) => void (s.shares = s.shares.filter((x) => x.name !== 'vms')));
  await until('A sees vms gone', () => !a.store.state.shares.some((x) => x.name === 'vms'));
  const rev3 = await new SharedStateFile(vol).read();
  assert.equal(rev3?.revision, 3);
  assert.equal(rev3?.origin, 'b');
  assert.ok(JSON.parse(await readFile(join(vol, 'revisions', '00000002.json'), 'utf8')).shared.shares.length === 1, 'revisions kept on the volume');

  // A writer that built on an old revision is refused with STATE_CONFLICT, and changes nothing.
  await a.sync.stop();
  await new SharedStateFile(vol).write(3, { ...sharedPartOf(b.store.state), groups: [{ name: 'staff', gid: 2000, members: [] }] }, { who: 'x', origin: 'c', message: 'from c' });
  const before = a.store.revision;
  a.store.setCommitGuard(undefined);
  const a2 = new ClusterStateSync({ store: a.store, hostname: 'a', mountDir: vol, access: fakeAccess('a', flags), clustered: async () => true, pollMs: 60_000 });
  running.add(a2);
  // Applied revision 3 first (not 4) by reading before c wrote: simulate by starting on a copy.
  await a2.start(5000);
  assert.deepEqual(a.store.state.groups.map((g) => g.name), ['staff'], 'a restarted member adopts the newest document at start');
  assert.ok(a.store.revision > before);
});

test('two writers on the same revision: one wins, the other gets STATE_CONFLICT and keeps its document', async (t) => {
  const root = await tempDir(t);
  const vol = join(root, 'volume');
  await mkdir(vol);
  const flags = { exists: true };
  const a = await appliance(root, 'a', vol, flags);
  const b = await appliance(root, 'b', vol, flags);
  await a.sync.start(5000);
  await b.sync.start(5000);
  // B has not polled since A's write (its poll is stopped here).
  await b.sync.stop();
  b.store.setCommitGuard(undefined);
  const bs = new ClusterStateSync({ store: b.store, hostname: 'b', mountDir: vol, access: fakeAccess('a', flags), clustered: async () => true, pollMs: 60_000 });
  await bs.start(5000);
  running.add(bs);
  await a.store.update('admin', 'user on a', (s) => void s.users.push(user));
  const before = b.store.state;
  await assert.rejects(
    b.store.update('admin', 'user on b', (s) => void s.users.push({ ...user, name: 'bob', uid: 1002 })),
    (e: unknown) => e instanceof ClusterError && e.code === 'STATE_CONFLICT' && /changed on a meanwhile/.test(e.message),
  );
  assert.equal(b.store.state, before, "B's document is unchanged");
  await until('B adopts A\'s change after the conflict', () => b.store.state.users.some((u) => u.name === 'ann'));
  await b.store.update('admin', 'user on b', (s) => void s.users.push({ ...user, name: 'bob', uid: 1002 }));
  assert.deepEqual((await new SharedStateFile(vol).read())?.shared.users.map((u) => u.name), ['ann', 'bob']);
});

test('in a cluster whose state volume is not readable, cluster-wide changes are refused; alone, they are local', async (t) => {
  const root = await tempDir(t);
  const flags = { exists: false };
  const a = await appliance(root, 'a', join(root, 'missing', 'volume'), flags);
  await a.sync.start(2000);
  assert.equal(a.sync.status().phase, 'waiting');
  await a.store.update('admin', 'alone', (s) => void s.users.push(user));
  assert.equal(a.store.state.users.length, 1);

  // The volume exists but cannot be read (here: the mount point is missing).
  flags.exists = true;
  await new Promise((r) => setTimeout(r, 3100));
  await a.sync.check();
  assert.equal(a.sync.status().phase, 'error');
  await assert.rejects(
    a.store.update('admin', 'refused', (s) => void s.users.push({ ...user, name: 'bob', uid: 1002 })),
    (e: unknown) => e instanceof ClusterError && e.code === 'STATE_UNAVAILABLE',
  );
  assert.equal(a.store.state.users.length, 1);
  // Local settings still change.
  await a.store.update('admin', 'tz', (s) => void (s.settings.timezone = 'Europe/Paris'));
  assert.equal(a.store.state.settings.timezone, 'Europe/Paris');
});

test('while the state volume is being created: the invited appliance refuses cluster-wide changes (the seed would drop them), the founder\'s are seeded', async (t) => {
  const root = await tempDir(t);
  const vol = join(root, 'volume');
  await mkdir(vol);
  const flags = { exists: false };
  const a = await appliance(root, 'a', vol, flags, async () => true);
  const b = await appliance(root, 'b', vol, flags, async () => false);
  await a.sync.start(2000);
  await b.sync.start(2000);
  assert.equal(b.sync.status().phase, 'waiting');

  const before = b.store.state;
  await assert.rejects(
    b.store.update('admin', 'user on b', (s) => void s.users.push({ ...user, name: 'bob', uid: 1002 })),
    (e: unknown) => e instanceof ClusterError && e.code === 'STATE_UNAVAILABLE' && /being created/.test(e.message),
  );
  assert.equal(b.store.state, before, "B's document is unchanged: nothing to lose");
  await a.store.update('admin', 'user on a', (s) => void s.users.push(user));

  flags.exists = true;
  await until('A seeded and B adopted', () => b.store.state.users.some((u) => u.name === 'ann'), 8000);
  assert.deepEqual((await new SharedStateFile(vol).read())?.shared.users.map((u) => u.name), ['ann']);
  await b.store.update('admin', 'user on b', (s) => void s.users.push({ ...user, name: 'bob', uid: 1002 }));
  await until('A sees bob', () => a.store.state.users.some((u) => u.name === 'bob'));
  assert.deepEqual((await new SharedStateFile(vol).read())?.shared.users.map((u) => u.name), ['ann', 'bob']);
});

test('the founder\'s change whose guard ran just before the volume appeared is in the seed (the seed waits for queued commits)', async (t) => {
  const root = await tempDir(t);
  const vol = join(root, 'volume');
  await mkdir(vol);
  const flags = { exists: false };
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let asked = 0;
  // The guard's last question is held while the volume appears and a poll seeds it.
  const a = await appliance(root, 'a', vol, flags, async () => {
    if (asked++ === 0) await held;
    return true;
  });
  await a.sync.start(2000);
  assert.equal(a.sync.status().phase, 'waiting');
  const change = a.store.update('admin', 'user on a', (s) => void s.users.push(user));
  await until('the guard asked', () => asked === 1);
  flags.exists = true;
  await new Promise((r) => setTimeout(r, 3100)); // the poll asks for the volume every 3 s at most
  const polled = a.sync.check();
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(await new SharedStateFile(vol).read(), undefined, 'the seed waits for the queued commit');
  release();
  await change;
  await polled;
  const head = await new SharedStateFile(vol).read();
  assert.equal(head?.revision, 1);
  assert.deepEqual(head?.shared.users.map((u) => u.name), ['ann'], 'the change is in the seeded document');
  assert.equal(a.sync.status().phase, 'synced');
});

test('a poll stuck in the state volume shows as an error in the status, not as the last good phase', async (t) => {
  const root = await tempDir(t);
  const store = await StateStore.open(join(root, 's'), { initial: () => initialState(join(root, 'data')) });
  let answer!: (v: boolean) => void;
  const sync = new ClusterStateSync({ store, hostname: 'a', mountDir: join(root, 'vol'), access: fakeAccess('a', { exists: false }), clustered: () => new Promise<boolean>((r) => (answer = r)), pollMs: 50, stuckPollMs: 200 });
  running.add(sync);
  await sync.start(50);
  assert.equal(sync.status().phase, 'standalone');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(sync.status().phase, 'error');
  assert.match(sync.status().error ?? '', /the state volume \(cairn-state\) has not answered a poll for \d+ s/);
  answer(false);
  await sync.check();
  assert.equal(sync.status().phase, 'standalone');
});
