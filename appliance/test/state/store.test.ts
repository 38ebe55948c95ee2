import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diff } from '../../src/state/diff.js';
import { migrate, MigrationError } from '../../src/state/migrations.js';
import { DEFAULT_SMB, initialState, SCHEMA_VERSION, type State } from '../../src/state/schema.js';
import { StateStore, StoreError } from '../../src/state/store.js';
import { StateValidationError, validateState, isClientMatch } from '../../src/state/validate.js';

async function tempDir(t: { after: (fn: () => unknown) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-state-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const open = (dir: string, keepRevisions?: number) =>
  StateStore.open(dir, { initial: () => initialState('/srv/cairn'), ...(keepRevisions ? { keepRevisions } : {}) });

const share = (name: string, extra: Partial<State['shares'][number]> = {}): State['shares'][number] => ({
  name,
  pool: 'local',
  path: name,
  nfs: { enabled: false, clients: [] },
  smb: { ...DEFAULT_SMB },
  ...extra,
});

test('a fresh store holds revision 1, the initial document, written to disk', async (t) => {
  const dir = await tempDir(t);
  const store = await open(dir);
  assert.equal(store.revision, 1);
  assert.equal(store.state.pools[0]?.kind, 'local');
  const onDisk = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8'));
  assert.equal(onDisk.revision, 1);
  assert.deepEqual(onDisk.state, store.state);
  assert.throws(() => ((store.state.settings as { applianceName: string }).applianceName = 'x'), TypeError, 'the current document is frozen');
});

test('changes make numbered revisions with who, when and a diff; history pages newest first', async (t) => {
  const store = await open(await tempDir(t));
  await store.update('alice', 'add a', (s) => void s.shares.push(share('a')));
  await store.update('bob', 'rename', (s) => void (s.settings.applianceName = 'nas1'));
  const h = await store.history();
  assert.deepEqual(h.map((r) => [r.revision, r.who, r.message]), [[3, 'bob', 'rename'], [2, 'alice', 'add a'], [1, 'system', 'initial state']]);
  assert.deepEqual(h[0]!.diff, [{ op: 'replace', path: '/settings/applianceName', value: 'nas1', old: 'cairn' }]);
  assert.equal(h[1]!.diff[0]!.op, 'add');
  assert.equal(h[1]!.diff[0]!.path, '/shares/0');
  assert.deepEqual((await store.history({ limit: 1, before: 3 })).map((r) => r.revision), [2]);
  // A change that changes nothing makes no revision.
  await store.update('bob', 'noop', () => {});
  assert.equal(store.revision, 3);
});

test('an invalid change is refused with every field problem, and the document stays', async (t) => {
  const store = await open(await tempDir(t));
  await assert.rejects(
    store.update('x', 'bad', (s) => {
      s.shares.push(share('a', { pool: 'nope' }), share('A'));
      s.shares[1]!.nfs = { enabled: true, clients: [{ match: '10.0.0.0/99', access: 'rw', squash: 'root_squash', anonUid: 1, anonGid: 1, secure: true }] };
      s.groups.push({ name: 'staff', gid: 2000, members: ['ghost'] });
    }),
    (e: unknown) => {
      assert.ok(e instanceof StateValidationError);
      const paths = e.fields.map((f) => f.path).sort();
      assert.deepEqual(paths, ['groups.0.members.0', 'shares.0.pool', 'shares.1', 'shares.1.nfs.clients.0.match']);
      return true;
    },
  );
  assert.equal(store.revision, 1);
  assert.equal(store.state.shares.length, 0);
  // Structural errors carry their paths too.
  assert.throws(
    () => validateState({ ...initialState('/x'), settings: { applianceName: '', timezone: 'UTC', smb: { workgroup: 'W' }, nfs: { port: 0 } }, extra: 1 }),
    (e: unknown) => e instanceof StateValidationError && ['extra', 'settings.applianceName', 'settings.nfs.port'].every((p) => e.fields.some((f) => f.path === p)),
  );
});

test('NFS client matches: *, IPs and CIDR networks only', () => {
  for (const ok of ['*', '10.0.0.1', '10.0.0.0/8', '::1', 'fd00::/64']) assert.ok(isClientMatch(ok), ok);
  for (const bad of ['', 'host.example', '10.0.0.0/33', '10.0.0.0/', '1.2.3.4/8/9', 'fd00::/129', '*.example']) assert.ok(!isClientMatch(bad), bad);
});

test('rollback commits an old document as a new revision; history only grows', async (t) => {
  const store = await open(await tempDir(t));
  await store.update('a', 'add a', (s) => void s.shares.push(share('a')));
  await store.update('a', 'add b', (s) => void s.shares.push(share('b')));
  const r = await store.rollback(2, 'carol');
  assert.equal(r.revision, 4);
  assert.equal(r.message, 'rollback to revision 2');
  assert.deepEqual(store.state.shares.map((s) => s.name), ['a']);
  assert.deepEqual(r.diff, [{ op: 'remove', path: '/shares/1', old: share('b') }]);
  await assert.rejects(store.rollback(99, 'carol'), (e: unknown) => e instanceof StoreError && e.code === 'not_found');
});

test('changes are serialised: concurrent updates all land, in order', async (t) => {
  const store = await open(await tempDir(t));
  await Promise.all(Array.from({ length: 20 }, (_, i) => store.update('x', `add ${i}`, (s) => void s.shares.push(share(`s${i}`)))));
  assert.equal(store.revision, 21);
  assert.equal(store.state.shares.length, 20);
  // A stale expected revision is refused.
  await assert.rejects(store.update('x', 'stale', (s) => void s.shares.pop(), { expectRevision: 3 }), (e: unknown) => e instanceof StoreError && e.code === 'conflict');
});

test('reopening finds the same document; a crash leftover (temp file, uncommitted revision) is cleaned up', async (t) => {
  const dir = await tempDir(t);
  const store = await open(dir);
  await store.update('a', 'add a', (s) => void s.shares.push(share('a')));
  const state = structuredClone(store.state);
  // What a crash between the revision write and the commit point leaves:
  await writeFile(join(dir, 'revisions', '00000003.json'), JSON.stringify({ revision: 3, state: {} }));
  await writeFile(join(dir, '.state.json.tmp-1-abcd'), '{"torn');
  const again = await open(dir);
  assert.equal(again.revision, 2);
  assert.deepEqual(again.state, state);
  assert.deepEqual((await readdir(join(dir, 'revisions'))).sort(), ['00000001.json', '00000002.json']);
  assert.ok(!(await readdir(dir)).some((f) => f.includes('.tmp-')));
});

test('a corrupt or invalid state.json is refused with a clear error, not replaced', async (t) => {
  const dir = await tempDir(t);
  await open(dir);
  await writeFile(join(dir, 'state.json'), '{"revision": 1, "state": ');
  await assert.rejects(open(dir), (e: unknown) => e instanceof StoreError && e.code === 'corrupt' && /cannot be read/.test(e.message));
  const bad = { revision: 1, at: '', who: 'x', message: '', diff: [], state: { ...initialState('/x'), pools: 'nope' } };
  await writeFile(join(dir, 'state.json'), JSON.stringify(bad));
  await assert.rejects(open(dir), (e: unknown) => e instanceof StoreError && /pools/.test(e.message));
  assert.equal(JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')).state.pools, 'nope', 'left for the admin to inspect');
});

test('old revisions are pruned beyond keepRevisions', async (t) => {
  const dir = await tempDir(t);
  const store = await open(dir, 5);
  for (let i = 0; i < 8; i++) await store.update('x', `n${i}`, (s) => void (s.settings.applianceName = `n${i}`));
  assert.deepEqual(store.revisionNumbers(), [5, 6, 7, 8, 9]);
  assert.equal((await readdir(join(dir, 'revisions'))).length, 5);
  await assert.rejects(store.rollback(2, 'x'), StoreError);
});

const V1 = {
  schemaVersion: 1,
  settings: { hostname: 'oldnas' },
  pools: [{ id: 'local', kind: 'local', path: '/srv/cairn/pools/local', label: 'unreplicated' }],
  volumes: [],
  shares: [
    {
      name: 'vm',
      pool: 'local',
      path: 'vm',
      nfs: { enabled: true, clients: ['10.0.0.0/24(rw,no_root_squash,insecure)', '*(ro,anonuid=1000,anongid=100)'] },
      smb: { ...DEFAULT_SMB },
    },
  ],
  users: [{ name: 'bob', uid: 2000, fullName: 'Bob', passwordHash: 'scrypt$1$1$1$AA==$AA==', ntHash: '0'.repeat(32) }],
  groups: [],
};

test('migration v1 → v2: hostname, user.enabled, NFS client strings become objects', () => {
  const { doc, from } = migrate(structuredClone(V1));
  assert.equal(from, 1);
  validateState(doc);
  assert.equal(doc.schemaVersion, SCHEMA_VERSION);
  assert.equal(doc.settings.applianceName, 'oldnas');
  assert.equal(doc.users[0]!.enabled, true);
  assert.deepEqual(doc.shares[0]!.nfs.clients, [
    { match: '10.0.0.0/24', access: 'rw', squash: 'no_root_squash', anonUid: 65534, anonGid: 65534, secure: false },
    { match: '*', access: 'ro', squash: 'root_squash', anonUid: 1000, anonGid: 100, secure: true },
  ]);
  assert.throws(() => migrate({ ...V1, shares: [{ ...V1.shares[0], nfs: { enabled: true, clients: ['x(rw,frobnicate)'] } }] }), MigrationError);
  assert.throws(() => migrate({ schemaVersion: 99 }), /newer than this cairnd/);
  assert.throws(() => migrate([]), MigrationError);
});

test('a store holding a v1 document migrates it on open as a new revision; rollback to v1 revisions migrates too', async (t) => {
  const dir = await tempDir(t);
  const { mkdir } = await import('node:fs/promises');
  await mkdir(join(dir, 'revisions'), { recursive: true });
  const rev1 = { revision: 1, at: '2026-01-01T00:00:00.000Z', who: 'system', message: 'v1', diff: [], state: V1 };
  await writeFile(join(dir, 'revisions', '00000001.json'), JSON.stringify(rev1));
  await writeFile(join(dir, 'state.json'), JSON.stringify(rev1));
  const store = await open(dir);
  assert.equal(store.revision, 2);
  assert.equal(store.state.schemaVersion, SCHEMA_VERSION);
  assert.equal((await store.history({ limit: 1 }))[0]!.message, 'migrated from schema version 1');
  await store.update('x', 'rename', (s) => void (s.settings.applianceName = 'newnas'));
  const back = await store.rollback(1, 'x');
  assert.equal(back.state.settings.applianceName, 'oldnas');
  assert.equal(back.state.schemaVersion, SCHEMA_VERSION);
});

test('diff: objects by key, arrays by index, removals from the end first', () => {
  assert.deepEqual(diff({ a: 1, b: [1, 2, 3] }, { a: 1, b: [1], c: 'x' }), [
    { op: 'remove', path: '/b/2', old: 3 },
    { op: 'remove', path: '/b/1', old: 2 },
    { op: 'add', path: '/c', value: 'x' },
  ]);
  assert.deepEqual(diff({ 'a/b': 1 }, {}), [{ op: 'remove', path: '/a~1b', old: 1 }]);
});
