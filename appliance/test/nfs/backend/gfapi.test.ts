// The gfapi backend against a real replica-3 volume (glusterd in a private
// namespace, see test/pool/gluster/lab.ts): every Backend method, handles
// that survive a "restart", errors by errno name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { GlusterLab, replica3 } from '../../pool/gluster/lab.js';
import { openGfapiBackend } from '../../../src/nfs/backend/gfapi/index.js';
import { MAX_BACKEND_HANDLE, type Cred } from '../../../src/nfs/backend/backend.js';
import { toNfsStat, nfsstat3 } from '../../../src/nfs/backend/errors.js';

const root: Cred = { uid: 0, gid: 0, gids: [] };
const user: Cred = { uid: 1000, gid: 1000, gids: [1000] };

test('gfapi backend: namespace, data, attributes, handles', async (t) => {
  const lab = await GlusterLab.start(t);
  await replica3(lab, 'gv');
  const b = await openGfapiBackend({ volume: 'gv', volfileServer: lab.host, logFile: `${lab.dir}/log/gfapi.log` });
  t.after(() => b.close());
  assert.equal(b.kind, 'gfapi');

  const r = await b.root();
  assert.ok(r.length <= MAX_BACKEND_HANDLE);
  const ra = await b.getattr(r);
  assert.equal(ra.type, 'dir');

  // mkdir / create / write / read
  const d = await b.mkdir(root, r, 'dir', { mode: 0o755 });
  assert.equal(d.attrs.type, 'dir');
  assert.equal(d.attrs.mode, 0o755);
  assert.ok(d.dir.after);
  const f = await b.create(root, d.handle, 'file', { mode: 'guarded', attrs: { mode: 0o644 } });
  assert.equal(f.attrs.type, 'reg');
  await assert.rejects(b.create(root, d.handle, 'file', { mode: 'guarded', attrs: {} }), { code: 'EEXIST' });
  const again = await b.create(root, d.handle, 'file', { mode: 'unchecked', attrs: {} });
  assert.ok(again.handle.equals(f.handle));

  const data = randomBytes(3 << 20);
  for (let off = 0; off < data.length; off += 1 << 20) {
    const w = await b.write(root, f.handle, BigInt(off), data.subarray(off, off + (1 << 20)), 'unstable');
    assert.equal(w.count, 1 << 20);
    assert.equal(w.file.after?.size, BigInt(off + (1 << 20)));
  }
  const c = await b.commit(root, f.handle, 0n, 0);
  assert.equal(c.after?.size, BigInt(data.length));
  const chunks: Buffer[] = [];
  for (let off = 0; ; off += 1 << 20) {
    const rd = await b.read(root, f.handle, BigInt(off), 1 << 20);
    chunks.push(rd.data);
    if (rd.eof) break;
  }
  assert.ok(Buffer.concat(chunks).equals(data));
  const tail = await b.read(root, f.handle, BigInt(data.length - 10), 100);
  assert.equal(tail.data.length, 10);
  assert.equal(tail.eof, true);

  // lookup, .., handles stable across a second client ("restart")
  const lk = await b.lookup(root, d.handle, 'file');
  assert.ok(lk.handle.equals(f.handle));
  assert.equal(lk.attrs.fileid, f.attrs.fileid);
  assert.ok((await b.lookup(root, r, '..')).handle.equals(r));
  assert.ok((await b.lookup(root, d.handle, '..')).handle.equals(r));
  await assert.rejects(b.lookup(root, d.handle, 'missing'), { code: 'ENOENT' });

  const b2 = await openGfapiBackend({ volume: 'gv', volfileServer: lab.host });
  t.after(() => b2.close());
  assert.ok((await b2.root()).equals(r));
  assert.equal((await b2.getattr(f.handle)).size, BigInt(data.length));
  assert.ok((await b2.read(root, f.handle, 0n, 16)).data.equals(data.subarray(0, 16)));

  // setattr with guard, truncate, times
  const s1 = await b.setattr(root, f.handle, { mode: 0o600, size: 100n, mtime: { sec: 1_000_000, nsec: 5 } });
  assert.equal(s1.after?.mode, 0o600);
  assert.equal(s1.after?.size, 100n);
  assert.equal(s1.after?.mtime.sec, 1_000_000);
  await assert.rejects(b.setattr(root, f.handle, { mode: 0o644 }, { sec: 1, nsec: 0 }), { code: 'ENOT_SYNC' });

  // exclusive create is idempotent for the same verifier
  const verf = Buffer.from('cairn-v1');
  const x1 = await b.create(root, d.handle, 'excl', { mode: 'exclusive', verifier: verf });
  const x2 = await b.create(root, d.handle, 'excl', { mode: 'exclusive', verifier: verf });
  assert.ok(x1.handle.equals(x2.handle));
  await assert.rejects(b.create(root, d.handle, 'excl', { mode: 'exclusive', verifier: Buffer.from('other-v1') }), {
    code: 'EEXIST',
  });

  // symlink, mknod, link, rename
  const sl = await b.symlink(root, d.handle, 'sl', 'file', {});
  assert.equal(sl.attrs.type, 'lnk');
  assert.equal((await b.readlink(root, sl.handle)).target, 'file');
  const fifo = await b.mknod(root, d.handle, 'fifo', 'fifo', { mode: 0o600 });
  assert.equal(fifo.attrs.type, 'fifo');
  const ln = await b.link(root, f.handle, d.handle, 'hard');
  assert.equal(ln.attrs.nlink, 2);
  await b.rename(root, d.handle, 'hard', r, 'moved');
  assert.ok((await b.lookup(root, r, 'moved')).handle.equals(f.handle));

  // readdir(plus) with small pages: every name once, cookies resume
  const names = new Set<string>();
  let cookie = 0n;
  let verifier: Buffer = Buffer.alloc(8);
  for (;;) {
    const page = await b.readdir(root, d.handle, cookie, verifier, 2, true);
    for (const e of page.entries) {
      assert.ok(!names.has(e.name), `${e.name} listed twice`);
      names.add(e.name);
      assert.ok(e.cookie !== 0n);
      if (e.name !== '.' && e.name !== '..') assert.ok(e.handle && e.attrs, `${e.name} has handle+attrs`);
      cookie = e.cookie;
    }
    verifier = page.verifier;
    if (page.eof) break;
  }
  assert.deepEqual([...names].sort(), ['.', '..', 'excl', 'fifo', 'file', 'sl']);
  await assert.rejects(b.readdir(root, d.handle, cookie, Buffer.from('badverf!'), 10, false), { code: 'EBADCOOKIE' });

  // permissions are the caller's
  const priv = await b.create(root, r, 'private', { mode: 'guarded', attrs: { mode: 0o600 } });
  await assert.rejects(b.read(user, priv.handle, 0n, 10), { code: 'EACCES' });
  await assert.rejects(b.write(user, priv.handle, 0n, Buffer.from('x'), 'file_sync'), { code: 'EACCES' });
  await assert.rejects(b.mkdir(user, r, 'nope', {}), { code: 'EACCES' });
  const acc = await b.access(user, priv.handle, 0x3f);
  assert.equal(acc.granted, 0);
  assert.ok((await b.access(root, priv.handle, 0x01)).granted & 0x01);

  // remove / rmdir, stale and bad handles
  await assert.rejects(b.remove(root, r, 'dir'), { code: 'EISDIR' });
  await assert.rejects(b.rmdir(root, r, 'dir'), { code: 'ENOTEMPTY' });
  await assert.rejects(b.rmdir(root, r, 'moved'), { code: 'ENOTDIR' });
  for (const n of ['file', 'sl', 'fifo', 'excl']) await b.remove(root, d.handle, n);
  await b.remove(root, r, 'moved');
  const w = await b.rmdir(root, r, 'dir');
  assert.ok(w.after);
  await assert.rejects(b.getattr(f.handle), (e: unknown) => toNfsStat(e) === nfsstat3.NFS3ERR_STALE);
  await assert.rejects(b.getattr(Buffer.from('junk')), { code: 'EBADHANDLE' });
  const foreign = Buffer.from(r);
  foreign[5] = foreign[5]! ^ 0xff;
  await assert.rejects(b.getattr(foreign), { code: 'EBADHANDLE' });
  await assert.rejects(b.create(root, r, 'a/b', { mode: 'guarded', attrs: {} }), { code: 'EINVAL' });

  const fs = await b.fsstat(r);
  assert.ok(fs.totalBytes > 900_000_000n && fs.totalBytes <= 1n << 30n, String(fs.totalBytes));
  assert.equal((await b.fsinfo(r)).maxWrite, 1 << 20);

  // The virt profile turns client-io-threads on (the premise); our graph
  // passes it through, so after all the I/O above no io-threads worker
  // ("glfs_iotwrNNN") was ever started in this process.
  const info = await lab.volumes.info('gv');
  assert.equal(info.options['performance.client-io-threads'], 'on');
  const threads = await Promise.all((await readdir('/proc/self/task')).map((id) => readFile(`/proc/self/task/${id}/comm`, 'utf8').catch(() => '')));
  const iot = threads.filter((n) => n.startsWith('glfs_iotwr'));
  assert.deepEqual(iot, [], 'client-side io-threads workers ran');
});

test('gfapi backend: no such volume or no server is a prompt error', async () => {
  const t0 = Date.now();
  await assert.rejects(openGfapiBackend({ volume: 'nope', volfileServer: '127.0.0.1', port: 1 }), (e: { code?: string }) =>
    typeof e.code === 'string' && e.code.startsWith('E'),
  );
  assert.ok(Date.now() - t0 < 20_000);
});

// Differences from Ganesha FSAL_GLUSTER and from the posix backend found
// by bench/nfs-diff.ts --gluster, each checked against RFC 1813 (and knfsd
// where the RFC leaves it to the server's file system semantics).
test('gfapi backend: NFS semantics the bricks alone get wrong', async (t) => {
  const lab = await GlusterLab.start(t);
  await replica3(lab, 'sem', 512 << 20, 'general');
  const b = await openGfapiBackend({ volume: 'sem', volfileServer: lab.host, logFile: `${lab.dir}/log/gfapi.log` });
  t.after(() => b.close());
  const other: Cred = { uid: 2000, gid: 2000, gids: [2000] };
  const r = await b.root();
  const d = (await b.mkdir(root, r, 'sem', { mode: 0o777 })).handle;
  await b.setattr(root, d, { mode: 0o777 });
  const mk = async (name: string, mode: number, data = '') => {
    const h = (await b.create(root, d, name, { mode: 'guarded', attrs: { mode } })).handle;
    if (data) await b.write(root, h, 0n, Buffer.from(data), 'file_sync');
    await b.setattr(root, h, { mode });
    return h;
  };
  const f = await mk('f', 0o644, 'hello world');

  await t.test("CREATE UNCHECKED of a directory's name: EEXIST, not the directory's handle", async () => {
    await b.mkdir(root, d, 'sub', { mode: 0o755 });
    await assert.rejects(b.create(root, d, 'sub', { mode: 'unchecked', attrs: {} }), { code: 'EEXIST' });
  });

  await t.test('a file as the directory of a new name: ENOTDIR (the bricks say EPERM)', async () => {
    await assert.rejects(b.create(root, f, 'x', { mode: 'unchecked', attrs: {} }), { code: 'ENOTDIR' });
    await assert.rejects(b.mkdir(root, f, 'x', {}), { code: 'ENOTDIR' });
    await assert.rejects(b.link(root, f, f, 'x'), { code: 'ENOTDIR' });
    await assert.rejects(b.rename(root, d, 'f', f, 'x'), { code: 'ENOTDIR' });
  });

  await t.test('READ past the end: nothing read, and the file did not grow to the offset', async () => {
    const past = await b.read(root, f, 100n, 10);
    assert.equal(past.data.length, 0);
    assert.equal(past.eof, true);
    assert.equal(past.attrs.size, 11n, 'size after a READ past the end');
    assert.equal((await b.getattr(f)).size, 11n);
  });

  await t.test('READ of 0 bytes is no error (glfs_pread refuses a count of 0)', async () => {
    const none = await b.read(root, f, 0n, 0);
    assert.equal(none.data.length, 0);
    assert.equal(none.attrs.size, 11n);
    assert.equal((await b.read(root, f, 11n, 0)).eof, true);
  });

  await t.test('WRITE past the largest file size: FBIG', async () => {
    await assert.rejects(b.write(root, f, (1n << 63n) - 2n, Buffer.from('xyz'), 'file_sync'), { code: 'EFBIG' });
    // Past 2^53 an offset would round on its way to libgfapi: FSINFO says where the end is.
    const max = (await b.fsinfo(f)).maxFileSize;
    await assert.rejects(b.write(root, f, max - 1n, Buffer.from('xy'), 'file_sync'), { code: 'EFBIG' });
  });

  await t.test('SETATTR of a size past the largest file: FBIG, the file as it was', async () => {
    const g = await mk('huge', 0o644);
    const max = (await b.fsinfo(g)).maxFileSize;
    // 2^63 and 2^64 - 1 once reached the shard translator as negative sizes,
    // and 2^63 - 1 left a file no truncate could shrink again (ENOMEM).
    for (const size of [max + 1n, (1n << 63n) - 1n, 1n << 63n, (1n << 64n) - 1n]) {
      await assert.rejects(b.setattr(root, g, { size }), { code: 'EFBIG' }, String(size));
    }
    assert.equal((await b.getattr(g)).size, 0n);
    await b.setattr(root, g, { size: 1n << 40n });
    assert.equal((await b.getattr(g)).size, 1n << 40n);
    await b.setattr(root, g, { size: 5n });
    assert.equal((await b.getattr(g)).size, 5n);
  });

  await t.test('chown clears set-user-ID, in the reply too', async () => {
    const suid = await mk('suid', 0o644);
    await b.setattr(root, suid, { mode: 0o4755 });
    const chown = await b.setattr(root, suid, { uid: 1000, gid: 1000 });
    assert.equal(chown.after?.mode, 0o755, 'mode in the SETATTR reply after chown');
    assert.equal((await b.getattr(suid)).mode, 0o755);
  });

  await t.test('symlinks have no mode of their own and no size to set; FIFOs no size either', async () => {
    const sl = await b.symlink(root, d, 'sl', 'f', {});
    assert.equal((await b.setattr(root, sl.handle, { mode: 0o600 })).after?.mode, 0o777);
    await assert.rejects(b.setattr(root, sl.handle, { size: 0n }), { code: 'EINVAL' });
    const fifo = await b.mknod(root, d, 'fifo', 'fifo', { mode: 0o644 });
    await assert.rejects(b.setattr(root, fifo.handle, { size: 0n }), { code: 'EINVAL' });
  });

  await t.test('the owner may truncate a file whose mode forbids writing it (as WRITE)', async () => {
    const ro = await mk('ro', 0o444, 'abc');
    await b.setattr(root, ro, { uid: 1000, gid: 1000 });
    assert.equal((await b.setattr(user, ro, { size: 0n })).after?.size, 0n);
    await assert.rejects(b.setattr(other, ro, { size: 1n }), { code: 'EACCES' });
  });

  await t.test("explicit times are the owner's to set; the server's time needs write access", async () => {
    const shared = await mk('shared', 0o666, 'x');
    await assert.rejects(b.setattr(user, shared, { mtime: { sec: 1000, nsec: 0 } }), { code: 'EPERM' });
    await assert.rejects(b.setattr(user, shared, { atime: { sec: 1000, nsec: 0 }, mtime: { sec: 1000, nsec: 0 } }), { code: 'EPERM' });
    await b.setattr(user, shared, { mtime: 'server' });
    const own = await b.create(user, d, 'own', { mode: 'guarded', attrs: { mode: 0o644 } });
    assert.equal((await b.setattr(user, own.handle, { mtime: { sec: 1000, nsec: 0 } })).after?.mtime.sec, 1000);
  });

  await t.test("device nodes are root's to make", async () => {
    await assert.rejects(b.mknod(user, d, 'chr', 'chr', { mode: 0o666 }, { major: 1, minor: 3 }), { code: 'EPERM' });
    await assert.rejects(b.mknod(user, d, 'blk', 'blk', { mode: 0o666 }, { major: 7, minor: 0 }), { code: 'EPERM' });
    assert.equal((await b.mknod(user, d, 'ufifo', 'fifo', { mode: 0o600 })).attrs.uid, 1000);
  });

  await t.test('times asked for by CREATE and MKDIR are set', async () => {
    const timed = await b.create(root, d, 'timed', { mode: 'unchecked', attrs: { mode: 0o644, mtime: { sec: 1000, nsec: 0 } } });
    assert.equal(timed.attrs.mtime.sec, 1000);
    assert.equal((await b.getattr(timed.handle)).mtime.sec, 1000);
    const tdir = await b.mkdir(root, d, 'tdir', { mode: 0o755, mtime: { sec: 2000, nsec: 0 } });
    assert.equal(tdir.attrs.mtime.sec, 2000);
  });

  await t.test('no LOOKUP, and READDIRPLUS names only, without search permission', async () => {
    // A directory readable but not searchable (0744) as another user: no
    // LOOKUP in it, and READDIRPLUS gives its names only; 0711: LOOKUP only.
    const noexec = (await b.mkdir(root, d, 'noexec', { mode: 0o744 })).handle;
    await b.setattr(root, noexec, { mode: 0o744 });
    await b.create(root, noexec, 'inside', { mode: 'guarded', attrs: { mode: 0o644 } });
    await assert.rejects(b.lookup(user, noexec, 'inside'), { code: 'EACCES' });
    const plus = await b.readdir(user, noexec, 0n, Buffer.alloc(8), 100, true);
    assert.ok(plus.entries.some((e) => e.name === 'inside'));
    for (const e of plus.entries) assert.ok(!e.handle && !e.attrs, `${e.name}: no handle or attributes`);
    const nr = (await b.mkdir(root, d, 'noread', { mode: 0o711 })).handle;
    await b.setattr(root, nr, { mode: 0o711 });
    await b.create(root, nr, 'inside', { mode: 'guarded', attrs: { mode: 0o644 } });
    assert.equal((await b.lookup(user, nr, 'inside')).attrs.type, 'reg');
  });

  await t.test('execute permission is enough to READ (a client pages in what it may run)', async () => {
    const prog = await mk('prog', 0o711, 'x');
    assert.equal((await b.read(user, prog, 0n, 1)).data.toString(), 'x');
    await assert.rejects(b.read(user, await mk('secret', 0o600, 'x'), 0n, 1), { code: 'EACCES' });
  });

  await t.test('a listing resumed with its cookie and a zero verifier goes on', async () => {
    const first = await b.readdir(root, d, 0n, Buffer.alloc(8), 3, false);
    assert.equal(first.eof, false);
    const next = await b.readdir(root, d, first.entries.at(-1)!.cookie, Buffer.alloc(8), 100, false);
    assert.ok(next.entries.length > 0);
    await assert.rejects(b.readdir(root, d, first.entries.at(-1)!.cookie, Buffer.from('badverf!'), 100, false), { code: 'EBADCOOKIE' });
  });

  await t.test("COMMIT after a LINK answers with the new link count (not a cached fd's)", async () => {
    const linked = await mk('linked', 0o644, 'abc');
    await b.write(root, linked, 0n, Buffer.from('x'), 'unstable');
    await b.commit(root, linked, 0n, 0);
    await b.link(root, linked, d, 'linked2');
    assert.equal((await b.commit(root, linked, 0n, 0)).after?.nlink, 2);
  });
});
