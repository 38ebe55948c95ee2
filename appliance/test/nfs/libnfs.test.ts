/**
 * End to end with the real libnfs client (nfs-ls, nfs-cp, nfs-cat and a
 * small C client on libnfs's API) against `cairnd nfs-serve`: the memory
 * fixture, and for the protocol-wide cases also the native posix backend.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBackend } from '../../src/nfs/backend/memory/index.js';
import { buildClient, nfsServe, nfsUrl, tool } from './helpers/nfs-serve.js';
import { startTestServer } from './helpers/server.js';

let client = '';
const cleanups: Array<() => Promise<void>> = [];
before(async () => {
  client = await buildClient((fn) => cleanups.push(fn));
});
test.after(async () => {
  for (const c of cleanups) await c();
});

function expectOk(r: { code: number; stdout: string; stderr: string }, what: string) {
  assert.equal(r.code, 0, `${what} failed: ${r.stdout}${r.stderr}`);
  assert.doesNotMatch(r.stdout, /FAIL/);
}

test('nfs-cp, nfs-cat and nfs-ls move files through nfs-serve', async (t) => {
  const s = await nfsServe(t, ['--backend', 'memory']);
  const tmp = await mkdtemp(join(tmpdir(), 'cairn-libnfs-'));
  t.after(() => rm(tmp, { recursive: true, force: true }));
  const data = randomBytes(3 * 1024 * 1024 + 17);
  await writeFile(join(tmp, 'in.bin'), data);
  await writeFile(join(tmp, 'hello.txt'), 'hello, cairn\n');
  expectOk(await tool('nfs-cp', [join(tmp, 'in.bin'), s.url('/in.bin')]), 'nfs-cp up');
  expectOk(await tool('nfs-cp', [join(tmp, 'hello.txt'), s.url('/hello.txt')]), 'nfs-cp up');
  const cat = await tool('nfs-cat', [s.url('/hello.txt')]);
  expectOk(cat, 'nfs-cat');
  assert.equal(cat.stdout, 'hello, cairn\n');
  const ls = await tool('nfs-ls', [s.url()]);
  expectOk(ls, 'nfs-ls');
  assert.match(ls.stdout, /3145745 in\.bin/);
  assert.match(ls.stdout, /13 hello\.txt/);
  expectOk(await tool('nfs-cp', [s.url('/in.bin'), join(tmp, 'out.bin')]), 'nfs-cp down');
  assert.ok((await readFile(join(tmp, 'out.bin'))).equals(data));
  const missing = await tool('nfs-cat', [s.url('/missing')]);
  assert.notEqual(missing.code, 0);
});

// The protocol against the fixture and against the product's native posix backend.
for (const backend of ['memory', 'posix']) {
  test(`${backend}: libnfs C client: every procedure, rename over existing, links, symlinks, sparse files, writes past 4 GiB`, async (t) => {
    const s = await nfsServe(t, ['--backend', backend]);
    const r = await tool(client, ['suite', s.url()]);
    expectOk(r, 'suite');
    for (const step of ['write-past-4g', 'read-hole', 'rename-over-existing', 'hardlink', 'symlink', 'mknod', 'readdirplus', 'commit', 'statvfs', 'rmdir-notempty', 'name-too-long']) {
      assert.match(r.stdout, new RegExp(`^ok ${step}$`, 'm'));
    }
  });

  test(`${backend}: libnfs C client: forged, truncated and empty handles get NFS3ERR_BADHANDLE; removed objects NFS3ERR_STALE`, async (t) => {
    const s = await nfsServe(t, ['--backend', backend]);
    const r = await tool(client, ['forge', s.url()]);
    expectOk(r, 'forge');
    assert.match(r.stdout, /^ok forged-mac$/m);
    assert.match(r.stdout, /^ok stale$/m);
  });

  test(`${backend}: libnfs's own NLM v4 encoding: lock, conflict, BLOCKED, TEST's holder, unlock`, async (t) => {
    const s = await nfsServe(t, ['--backend', backend]);
    const r = await tool(client, ['nlm', s.url()]);
    expectOk(r, 'nlm');
    for (const step of ['nlm-lock', 'nlm-denied', 'nlm-blocked', 'nlm-test', 'nlm-unlock', 'nlm-free']) assert.match(r.stdout, new RegExp(`^ok ${step}$`, 'm'));
  });

  test(`${backend}: eight concurrent libnfs clients write and read back their own files`, async (t) => {
    const s = await nfsServe(t, ['--backend', backend]);
    const runs = await Promise.all(Array.from({ length: 8 }, (_, i) => tool(client, ['rw', s.url(), `client${i}`, String(4 * 1024 * 1024 + i)], 60_000)));
    runs.forEach((r, i) => expectOk(r, `client ${i}`));
    const ls = await tool('nfs-ls', [s.url()]);
    for (let i = 0; i < 8; i++) assert.match(ls.stdout, new RegExp(`${4 * 1024 * 1024 + i} client${i}`));
  });
}

test('a read-only export refuses changes with NFS3ERR_ROFS', async (t) => {
  const s = await nfsServe(t, ['--backend', 'memory', '--read-only']);
  const r = await tool(client, ['create', s.url(), '/x']);
  assert.equal(r.code, 2, r.stdout);
  assert.match(r.stdout, /NFS3ERR_ROFS/);
  const ls = await tool('nfs-ls', [s.url()]);
  expectOk(ls, 'nfs-ls on a read-only export');
});

test('a client not in the export list cannot mount: MNT3ERR_ACCES', async (t) => {
  const s = await nfsServe(t, ['--backend', 'memory', '--clients', '10.9.9.9,192.168.0.0/16']);
  const r = await tool(client, ['mount', s.url()]);
  assert.equal(r.code, 2, r.stdout);
  assert.match(r.stdout, /mount-error .*(ACCES|Permission denied)/i);
  const ls = await tool('nfs-ls', [s.url()]);
  assert.notEqual(ls.code, 0);
});

test('READDIRPLUS lists a 100,000-entry directory completely', async (t) => {
  const backend = new MemoryBackend();
  const cred = { uid: 0, gid: 0, gids: [] };
  const root = await backend.root();
  const dir = (await backend.mkdir(cred, root, 'big', {})).handle;
  for (let i = 0; i < 100_000; i++) await backend.create(cred, dir, `entry-${i}`, { mode: 'unchecked', attrs: {} });
  const s = await startTestServer(t, { backend });
  const r = await tool(client, ['count', nfsUrl(s.port), '/big'], 120_000);
  expectOk(r, 'count');
  assert.equal(r.stdout.trim(), 'count 100002');
});

test('nfs-serve refuses an unknown backend with a clear message', async () => {
  const r = await tool(process.execPath, [join(import.meta.dirname, '../../../bin/cairnd.js'), 'nfs-serve', '--dir', tmpdir(), '--port', '0', '--backend', 'nope']);
  assert.equal(r.code, 64);
  assert.match(r.stderr, /--backend "nope" is not available/);
});
