/**
 * The posix backend on real temp directories: the shared conformance suite,
 * then what only a real filesystem can show — on-disk ownership, handles
 * across restarts and exports, escapes, other filesystems, a 100,000-entry
 * directory, the fd cache. Needs root (open_by_handle_at).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, rename, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { closeSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openPosixBackend } from '../../../src/nfs/backend/posix/index.js';
import { backendConformance, rejectsWith, ROOT, USER } from './conformance.js';
import { listAll } from '../helpers/readdir-xdr.js';

const run = promisify(execFile);

async function tempDir(t: TestContext, mode = 0o755): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-posix-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await chmod(dir, mode);
  return dir;
}

backendConformance('posix', async (t) => openPosixBackend(await tempDir(t)));

test('posix: files are owned by the caller on disk; handles survive a restart', async (t) => {
  const dir = await tempDir(t, 0o777);
  const b = await openPosixBackend(dir);
  t.after(() => b.close());
  const root = await b.root();
  const made = await b.create(USER, root, 'u', { mode: 'guarded', attrs: { mode: 0o640 } });
  await b.write(USER, made.handle, 0n, Buffer.from('persist'), 'file_sync');
  const st = await stat(join(dir, 'u'));
  assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [USER.uid, USER.gid, 0o640]);
  const d = await b.mkdir(USER, root, 'd', { mode: 0o2775 });
  assert.equal((await stat(join(dir, 'd'))).mode & 0o7777, 0o2775, 'mode set exactly, not masked by the umask');
  await b.close();
  // A new instance (a server restart) takes the old handles.
  const again = await openPosixBackend(dir);
  t.after(() => again.close());
  assert.deepEqual(await again.root(), root);
  assert.equal((await again.read(ROOT, made.handle, 0n, 100)).data.toString(), 'persist');
  assert.equal((await again.getattr(d.handle)).type, 'dir');
  // ESTALE for a file deleted behind the server's back, cached fd or not.
  await unlink(join(dir, 'u'));
  await rejectsWith(again.getattr(made.handle), 'ESTALE');
});

test('posix: nothing reaches outside the export', async (t) => {
  const top = await tempDir(t);
  await mkdir(join(top, 'export'));
  await mkdir(join(top, 'outside'));
  await writeFile(join(top, 'outside', 'secret'), 'outside data');
  await symlink('../outside', join(top, 'export', 'escape'));
  const exportDir = join(top, 'export');
  const b = await openPosixBackend(exportDir);
  t.after(() => b.close());
  const root = await b.root();
  assert.deepEqual((await b.lookup(ROOT, root, '..')).handle, root);
  const link = await b.lookup(ROOT, root, 'escape');
  assert.equal(link.attrs.type, 'lnk');
  await rejectsWith(b.lookup(ROOT, link.handle, 'secret'), 'ENOTDIR');
  await rejectsWith(b.create(ROOT, root, 'escape', { mode: 'unchecked', attrs: {} }), 'EEXIST');
  await rejectsWith(b.mkdir(ROOT, link.handle, 'x', {}), 'ENOTDIR');
  await rejectsWith(b.lookup(ROOT, root, '../outside'), 'EACCES');
  // Handles of another export on the same filesystem are foreign here.
  const other = await openPosixBackend(join(top, 'outside'));
  t.after(() => other.close());
  const secret = await other.lookup(ROOT, await other.root(), 'secret');
  await rejectsWith(b.read(ROOT, secret.handle, 0n, 100), 'EBADHANDLE');
  await rejectsWith(b.getattr(await other.root()), 'EBADHANDLE');
  // A directory moved out of the export is stale once reopened by handle.
  const d = await b.mkdir(ROOT, root, 'leaving', { mode: 0o755 });
  await rename(join(exportDir, 'leaving'), join(top, 'outside', 'left'));
  const fresh = await openPosixBackend(exportDir);
  t.after(() => fresh.close());
  await rejectsWith(fresh.getattr(d.handle), 'ESTALE');
  await rejectsWith(fresh.create(ROOT, d.handle, 'x', { mode: 'guarded', attrs: {} }), 'ESTALE');
});

test('posix: objects of another filesystem mounted inside the export are not served', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-posix-'));
  await mkdir(join(dir, 'mnt'));
  let mounted = false;
  t.after(async () => {
    if (mounted) await run('umount', [join(dir, 'mnt')]);
    await rm(dir, { recursive: true, force: true });
  });
  try {
    await run('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'cairn-test', join(dir, 'mnt')]);
    mounted = true;
  } catch (e) {
    t.skip(`cannot mount tmpfs: ${(e as Error).message}`);
    return;
  }
  const b = await openPosixBackend(dir);
  t.after(() => b.close());
  const root = await b.root();
  await b.create(ROOT, root, 'f', { mode: 'guarded', attrs: {} });
  // A mount point is not crossed (posix_backend.rs): LOOKUP refuses it,
  // READDIRPLUS lists it without attributes or handle.
  await rejectsWith(b.lookup(ROOT, root, 'mnt'), 'EACCES');
  const page = await b.readdir(ROOT, root, 0n, Buffer.alloc(8), 100, true);
  const mnt = page.entries.find((e) => e.name === 'mnt');
  assert.ok(mnt && !mnt.attrs && !mnt.handle, 'listed, without attributes');
  assert.ok(page.entries.find((e) => e.name === 'f')?.attrs);
  await b.close();
});

test('posix: 100,000 entries listed in pages with cookies (READDIR and READDIRPLUS)', async (t) => {
  const dir = await tempDir(t);
  const n = 100_000;
  await mkdir(join(dir, 'big'));
  for (let i = 0; i < n; i++) closeSync(openSync(join(dir, 'big', `file-${i}`), 'w'));
  const b = await openPosixBackend(dir);
  t.after(() => b.close());
  const big = (await b.lookup(ROOT, await b.root(), 'big')).handle;
  for (const [plus, page] of [
    [false, 4000],
    [true, 1000],
  ] as const) {
    const names = new Set<string>();
    let cookie = 0n;
    let verifier: Buffer = Buffer.alloc(8);
    let calls = 0;
    for (;;) {
      const res = await b.readdir(ROOT, big, cookie, verifier, page, plus);
      for (const e of res.entries) {
        names.add(e.name);
        if (plus && e.name.startsWith('file-')) assert.equal(e.attrs?.type, 'reg');
      }
      calls++;
      verifier = res.verifier;
      if (res.eof) break;
      cookie = res.entries.at(-1)!.cookie;
    }
    assert.equal(names.size, n + 2, `plus=${plus}`);
    assert.ok(calls >= n / page, `${calls} calls`);
  }
  // The READDIRPLUS fast path (readdirXdr) over the same directory.
  const fast = await listAll(b, big, true, 32768, 8192);
  assert.equal(new Set(fast.entries.map((e) => e.name.toString())).size, n + 2);
  assert.equal(fast.entries.length, n + 2);
  assert.ok(fast.pages.length > 100, `${fast.pages.length} pages`);
  assert.ok(fast.entries.every((e) => e.fh && e.attrs));
  assert.equal((await readdir(join(dir, 'big'))).length, n);
});

test('posix: the fd cache stays bounded and closes removed files', async (t) => {
  const dir = await tempDir(t);
  const fds = async () => (await readdir('/proc/self/fd')).length;
  const start = await fds();
  const b = await openPosixBackend(dir, { fdCacheSize: 64 });
  t.after(() => b.close());
  const root = await b.root();
  const handles: Buffer[] = [];
  for (let i = 0; i < 300; i++) handles.push((await b.create(ROOT, root, `f${i}`, { mode: 'guarded', attrs: {} })).handle);
  for (const h of handles) await b.getattr(h);
  assert.ok((await fds()) - start <= 64 + 8, `fds grew by ${(await fds()) - start}`);
  for (let i = 0; i < 300; i++) await b.remove(ROOT, root, `f${i}`);
  assert.ok((await fds()) - start <= 8, 'removed files are closed');
  await b.close();
  assert.ok((await fds()) - start <= 2);
});

test('posix: mknod of devices needs privilege; names longer than NAME_MAX fail', async (t) => {
  const dir = await tempDir(t, 0o777);
  const b = await openPosixBackend(dir);
  t.after(() => b.close());
  const root = await b.root();
  const dev = await b.mknod(ROOT, root, 'null2', 'chr', { mode: 0o600 }, { major: 1, minor: 3 });
  assert.deepEqual([dev.attrs.type, dev.attrs.rdev], ['chr', { major: 1, minor: 3 }]);
  await rejectsWith(b.mknod(USER, root, 'dev2', 'blk', {}, { major: 7, minor: 0 }), 'EPERM');
  await rejectsWith(b.create(ROOT, root, 'x'.repeat(256), { mode: 'guarded', attrs: {} }), 'ENAMETOOLONG');
});
