/**
 * The Backend contract (src/nfs/backend/backend.ts) as a test suite that
 * any backend can run:
 *
 *   backendConformance('posix', async (t) => openPosixBackend(await tempDir(t)));
 *
 * `makeBackend` gets each test's context (register cleanup with t.after);
 * it must return a backend whose root is an empty directory owned by root,
 * mode 0755 or wider. The suite closes the backend after each test. Only
 * what the contract promises is asserted, so posix, memory and gfapi pass
 * the same checks.
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { ACCESS, type Backend, type Cred, type Time } from '../../../src/nfs/backend/backend.js';

export type MakeBackend = (t: TestContext) => Promise<Backend>;

export const ROOT: Cred = { uid: 0, gid: 0, gids: [] };
export const USER: Cred = { uid: 4242, gid: 4242, gids: [4243] };
const OTHER: Cred = { uid: 4343, gid: 4343, gids: [] };

/** Asserts that `p` rejects with one of `codes` as err.code. */
export async function rejectsWith(p: Promise<unknown>, ...codes: string[]): Promise<void> {
  await assert.rejects(p, (e: NodeJS.ErrnoException) => {
    assert.ok(codes.includes(String(e.code)), `expected ${codes.join('|')}, got ${String(e.code)}: ${e.message}`);
    return true;
  });
}

const UNCHECKED = { mode: 'unchecked' as const, attrs: { mode: 0o644 } };
const GUARDED = { mode: 'guarded' as const, attrs: { mode: 0o644 } };

export function backendConformance(name: string, makeBackend: MakeBackend): void {
  async function open(t: TestContext): Promise<{ b: Backend; root: Buffer }> {
    const b = await makeBackend(t);
    t.after(() => b.close());
    return { b, root: await b.root() };
  }

  async function file(b: Backend, dir: Buffer, fname: string, content = '', cred = ROOT): Promise<Buffer> {
    const { handle } = await b.create(cred, dir, fname, GUARDED);
    if (content) await b.write(cred, handle, 0n, Buffer.from(content), 'file_sync');
    return handle;
  }

  describe(`backend conformance: ${name}`, () => {
    test('root, getattr, lookup of . and .. at the root', async (t) => {
      const { b, root } = await open(t);
      const a = await b.getattr(root);
      assert.equal(a.type, 'dir');
      assert.ok(root.length > 0 && root.length <= 48, `root handle of ${root.length} bytes`);
      const up = await b.lookup(ROOT, root, '..');
      assert.deepEqual(up.handle, root, '`..` of the root is the root');
      assert.equal(up.attrs.fileid, a.fileid);
      assert.equal((await b.lookup(ROOT, root, '.')).attrs.fileid, a.fileid);
      await rejectsWith(b.lookup(ROOT, root, 'missing'), 'ENOENT');
      const f = await file(b, root, 'f');
      await rejectsWith(b.lookup(ROOT, f, 'x'), 'ENOTDIR');
    });

    test('create: guarded, unchecked, exclusive with retransmission, bad names', async (t) => {
      const { b, root } = await open(t);
      const made = await b.create(ROOT, root, 'a', GUARDED);
      assert.equal(made.attrs.type, 'reg');
      assert.equal(made.attrs.mode, 0o644);
      assert.ok(made.dir.after, 'wcc after');
      await rejectsWith(b.create(ROOT, root, 'a', GUARDED), 'EEXIST');
      const again = await b.create(ROOT, root, 'a', UNCHECKED);
      assert.equal(again.attrs.fileid, made.attrs.fileid);
      const verifier = Buffer.from('12345678');
      const x = await b.create(ROOT, root, 'x', { mode: 'exclusive', verifier });
      const retry = await b.create(ROOT, root, 'x', { mode: 'exclusive', verifier });
      assert.equal(retry.attrs.fileid, x.attrs.fileid, 'a retransmitted exclusive create succeeds');
      await rejectsWith(b.create(ROOT, root, 'x', { mode: 'exclusive', verifier: Buffer.from('87654321') }), 'EEXIST');
      for (const bad of ['.', '..', 'a/b', '']) {
        await assert.rejects(b.create(ROOT, root, bad, GUARDED), `name ${JSON.stringify(bad)}`);
      }
    });

    test('write and read: round trip, eof, stability, wcc, sparse past 4 GiB', async (t) => {
      const { b, root } = await open(t);
      const h = await file(b, root, 'data');
      const w = await b.write(ROOT, h, 0n, Buffer.from('hello world'), 'unstable');
      assert.equal(w.count, 11);
      assert.ok(['unstable', 'data_sync', 'file_sync'].includes(w.committed));
      assert.equal(w.file.after?.size, 11n);
      const ds = await b.write(ROOT, h, 11n, Buffer.from('!'), 'data_sync');
      assert.notEqual(ds.committed, 'unstable');
      const fs = await b.write(ROOT, h, 12n, Buffer.from('?'), 'file_sync');
      assert.equal(fs.committed, 'file_sync');
      assert.equal(fs.file.before?.size, 12n);
      await b.commit(ROOT, h, 0n, 0);
      const all = await b.read(ROOT, h, 0n, 100);
      assert.equal(all.data.toString(), 'hello world!?');
      assert.equal(all.eof, true);
      const part = await b.read(ROOT, h, 6n, 5);
      assert.deepEqual([part.data.toString(), part.eof], ['world', false]);
      assert.equal((await b.read(ROOT, h, 1000n, 10)).data.length, 0);
      const far = (1n << 32n) + 12345n;
      await b.write(ROOT, h, far, Buffer.from('far'), 'unstable');
      assert.equal((await b.getattr(h)).size, far + 3n);
      const hole = await b.read(ROOT, h, 1n << 31n, 8);
      assert.deepEqual(hole.data, Buffer.alloc(8));
      assert.equal((await b.read(ROOT, h, far, 10)).data.toString(), 'far');
      assert.equal(b.writeVerifier.length, 8);
      await rejectsWith(b.read(ROOT, root, 0n, 10), 'EISDIR');
    });

    test('concurrent writes and reads on one handle', async (t) => {
      const { b, root } = await open(t);
      const h = await file(b, root, 'c');
      const block = (i: number) => Buffer.alloc(4096, i);
      await Promise.all(Array.from({ length: 32 }, (_, i) => b.write(ROOT, h, BigInt(i * 4096), block(i), 'unstable')));
      const reads = await Promise.all(Array.from({ length: 32 }, (_, i) => b.read(ROOT, h, BigInt(i * 4096), 4096)));
      reads.forEach((r, i) => assert.deepEqual(r.data, block(i)));
    });

    test('setattr: truncate, mode, times, guard', async (t) => {
      const { b, root } = await open(t);
      const h = await file(b, root, 's', 'some content');
      const wcc = await b.setattr(ROOT, h, { size: 4n, mode: 0o600, mtime: { sec: 1_000_000, nsec: 0 }, atime: 'server' });
      assert.equal(wcc.before?.size, 12n);
      assert.equal(wcc.after?.size, 4n);
      const a = await b.getattr(h);
      assert.equal(a.mode, 0o600);
      assert.equal(a.mtime.sec, 1_000_000);
      assert.ok(a.atime.sec > 1_600_000_000, 'atime set to the server time');
      assert.equal((await b.read(ROOT, h, 0n, 100)).data.toString(), 'some');
      await rejectsWith(b.setattr(ROOT, h, { mode: 0o644 }, { sec: 1, nsec: 2 }), 'ENOT_SYNC');
      await b.setattr(ROOT, h, { mode: 0o640 }, a.ctime);
      assert.equal((await b.getattr(h)).mode, 0o640);
      await b.setattr(ROOT, h, { size: 10n });
      assert.deepEqual((await b.read(ROOT, h, 0n, 100)).data, Buffer.from('some\0\0\0\0\0\0'));
    });

    test('mkdir, rmdir, remove; handles of removed objects are ESTALE', async (t) => {
      const { b, root } = await open(t);
      const d = await b.mkdir(ROOT, root, 'd', { mode: 0o755 });
      assert.equal(d.attrs.type, 'dir');
      assert.equal(d.attrs.mode, 0o755);
      await rejectsWith(b.mkdir(ROOT, root, 'd', {}), 'EEXIST');
      const inner = await file(b, d.handle, 'inner', 'x');
      await rejectsWith(b.rmdir(ROOT, root, 'd'), 'ENOTEMPTY', 'EEXIST');
      await rejectsWith(b.rmdir(ROOT, d.handle, 'inner'), 'ENOTDIR');
      const wcc = await b.remove(ROOT, d.handle, 'inner');
      assert.ok(wcc.after);
      await rejectsWith(b.getattr(inner), 'ESTALE');
      await rejectsWith(b.read(ROOT, inner, 0n, 1), 'ESTALE');
      await rejectsWith(b.remove(ROOT, d.handle, 'inner'), 'ENOENT');
      await b.rmdir(ROOT, root, 'd');
      await rejectsWith(b.getattr(d.handle), 'ESTALE');
      await rejectsWith(b.lookup(ROOT, d.handle, 'x'), 'ESTALE');
    });

    test('rename: over an existing file, across directories, handles survive', async (t) => {
      const { b, root } = await open(t);
      const a = await file(b, root, 'a', 'AAA');
      const old = await file(b, root, 'b', 'BBB');
      const r = await b.rename(ROOT, root, 'a', root, 'b');
      assert.ok(r.from.after && r.to.after);
      await rejectsWith(b.getattr(old), 'ESTALE');
      await rejectsWith(b.lookup(ROOT, root, 'a'), 'ENOENT');
      const found = await b.lookup(ROOT, root, 'b');
      assert.deepEqual(found.handle, a, 'the renamed file keeps its handle');
      assert.equal((await b.read(ROOT, a, 0n, 10)).data.toString(), 'AAA');
      const d = await b.mkdir(ROOT, root, 'sub', { mode: 0o755 });
      await b.rename(ROOT, root, 'b', d.handle, 'moved');
      assert.equal((await b.read(ROOT, (await b.lookup(ROOT, d.handle, 'moved')).handle, 0n, 10)).data.toString(), 'AAA');
      await rejectsWith(b.rename(ROOT, root, 'nothing', root, 'x'), 'ENOENT');
    });

    test('hard links and symlinks', async (t) => {
      const { b, root } = await open(t);
      const f = await file(b, root, 'f', 'data');
      const l = await b.link(ROOT, f, root, 'f2');
      assert.equal(l.attrs.nlink, 2);
      const f2 = await b.lookup(ROOT, root, 'f2');
      assert.equal(f2.attrs.fileid, (await b.getattr(f)).fileid);
      await b.remove(ROOT, root, 'f');
      assert.equal((await b.read(ROOT, f2.handle, 0n, 10)).data.toString(), 'data', 'the other link keeps the data');
      await rejectsWith(b.link(ROOT, f, root, 'f2'), 'EEXIST');
      await assert.rejects(b.link(ROOT, root, root, 'rootlink'), 'no hard links to directories');
      const s = await b.symlink(ROOT, root, 'sl', '../outside/target', {});
      assert.equal(s.attrs.type, 'lnk');
      const rl = await b.readlink(ROOT, s.handle);
      assert.equal(rl.target, '../outside/target');
      assert.equal((await b.lookup(ROOT, root, 'sl')).attrs.type, 'lnk', 'lookup does not follow');
      await rejectsWith(b.readlink(ROOT, f2.handle), 'EINVAL');
      const fifo = await b.mknod(ROOT, root, 'p', 'fifo', { mode: 0o600 });
      assert.equal(fifo.attrs.type, 'fifo');
    });

    test('names and symlink targets that are not UTF-8 are kept as bytes (rawNames backends)', async (t) => {
      const { b, root } = await open(t);
      if (!b.rawNames) return t.skip('this backend takes UTF-8 names only (the protocol layer refuses others)');
      const raw = Buffer.from([0x63, 0x61, 0x66, 0xe9]); // Latin-1 "café"
      const raw2 = Buffer.from([0xff, 0x2e, 0x74]);
      const target = Buffer.from([0x2e, 0x2e, 0x2f, 0xe9]);
      const made = await b.create(ROOT, root, raw, GUARDED);
      assert.deepEqual((await b.lookup(ROOT, root, raw)).handle, made.handle);
      await rejectsWith(b.lookup(ROOT, root, raw.toString('utf8')), 'ENOENT');
      const listed = async () => (await b.readdir(ROOT, root, 0n, Buffer.alloc(8), 100, true)).entries.filter((e) => e.nameBytes).map((e) => e.nameBytes!);
      assert.deepEqual(await listed(), [raw], 'listed with its exact bytes');
      await b.rename(ROOT, root, raw, root, raw2);
      assert.deepEqual((await b.lookup(ROOT, root, raw2)).handle, made.handle);
      await b.link(ROOT, made.handle, root, raw);
      const sl = await b.symlink(ROOT, root, 'sl', target, {});
      assert.deepEqual((await b.readlink(ROOT, sl.handle)).target, target, 'the target read back is the same bytes');
      await b.remove(ROOT, root, raw);
      await b.remove(ROOT, root, raw2);
      assert.deepEqual(await listed(), []);
    });

    test('readdir: . and .. first, pages with cookies that survive changes, EBADCOOKIE', async (t) => {
      const { b, root } = await open(t);
      const n = 300;
      for (let i = 0; i < n; i += 50) {
        await Promise.all(Array.from({ length: 50 }, (_, j) => b.create(ROOT, root, `e${String(i + j).padStart(4, '0')}`, GUARDED)));
      }
      for (const plus of [false, true]) {
        const seen = new Map<string, bigint>();
        let cookie = 0n;
        let verifier: Buffer = Buffer.alloc(8);
        let pages = 0;
        for (;;) {
          const page = await b.readdir(ROOT, root, cookie, verifier, 37, plus);
          assert.ok(page.entries.length <= 37);
          if (pages === 0) assert.deepEqual(page.entries.slice(0, 2).map((e) => e.name).sort(), ['.', '..']);
          for (const e of page.entries) {
            assert.ok(!seen.has(e.name), `${e.name} listed twice`);
            assert.notEqual(e.cookie, 0n);
            seen.set(e.name, e.fileid);
            if (plus && e.name !== '.' && e.name !== '..') {
              assert.ok(e.handle && e.attrs, `${e.name} has handle and attrs`);
              assert.equal(e.attrs.fileid, e.fileid);
            }
          }
          pages++;
          verifier = page.verifier;
          if (page.eof) break;
          cookie = page.entries.at(-1)!.cookie;
          if (pages === 3) {
            // Other clients change the directory meanwhile: the cookie must stay good.
            await b.create(ROOT, root, 'zz-added', GUARDED);
            await b.remove(ROOT, root, 'zz-added');
          }
        }
        assert.equal(seen.size, n + 2, `plus=${plus}`);
        assert.ok(pages >= Math.ceil((n + 2) / 37));
      }
      await rejectsWith(b.readdir(ROOT, root, 12345n, Buffer.from('badverf!'), 10, false), 'EBADCOOKIE');
      const f = await file(b, root, 'plainfile');
      await rejectsWith(b.readdir(ROOT, f, 0n, Buffer.alloc(8), 10, false), 'ENOTDIR');
    });

    test('permissions are checked for the caller', async (t) => {
      const { b, root } = await open(t);
      const locked = await b.mkdir(ROOT, root, 'locked', { mode: 0o755 });
      await rejectsWith(b.create(USER, locked.handle, 'u', GUARDED), 'EACCES');
      await rejectsWith(b.mkdir(USER, locked.handle, 'u', {}), 'EACCES');
      const secret = await file(b, locked.handle, 'secret', 'top secret');
      await b.setattr(ROOT, secret, { mode: 0o600 });
      await rejectsWith(b.read(USER, secret, 0n, 10), 'EACCES');
      await rejectsWith(b.write(USER, secret, 0n, Buffer.from('x'), 'unstable'), 'EACCES');
      await rejectsWith(b.remove(USER, locked.handle, 'secret'), 'EACCES');
      await rejectsWith(b.setattr(USER, secret, { mode: 0o666 }), 'EPERM', 'EACCES');
      const acc = await b.access(USER, secret, ACCESS.READ | ACCESS.MODIFY);
      assert.equal(acc.granted, 0);
      const rootAcc = await b.access(ROOT, secret, ACCESS.READ | ACCESS.MODIFY);
      assert.equal(rootAcc.granted, ACCESS.READ | ACCESS.MODIFY);
      // A directory the user may write: their file is theirs.
      const open_ = await b.mkdir(ROOT, root, 'open', { mode: 0o777 });
      const mine = await b.create(USER, open_.handle, 'mine', GUARDED);
      assert.equal(mine.attrs.uid, USER.uid);
      await b.setattr(USER, mine.handle, { mode: 0o444 });
      await b.write(USER, mine.handle, 0n, Buffer.from('owner may write'), 'unstable');
      await rejectsWith(b.write(OTHER, mine.handle, 0n, Buffer.from('x'), 'unstable'), 'EACCES');
      assert.equal((await b.read(OTHER, mine.handle, 0n, 5)).data.toString(), 'owner', 'others may read 0444');
      // A size that stays changes nothing, yet needs write permission
      // (truncate(2); knfsd answers ACCES); the owner of a 0444 file has it.
      await rejectsWith(b.setattr(USER, secret, { size: (await b.getattr(secret)).size }), 'EACCES');
      const mineSize = (await b.getattr(mine.handle)).size;
      await rejectsWith(b.setattr(OTHER, mine.handle, { size: mineSize }), 'EACCES');
      assert.equal((await b.setattr(USER, mine.handle, { size: mineSize })).after?.size, mineSize);
      const dirAcc = await b.access(USER, open_.handle, ACCESS.LOOKUP | ACCESS.MODIFY | ACCESS.DELETE);
      assert.equal(dirAcc.granted, ACCESS.LOOKUP | ACCESS.MODIFY | ACCESS.DELETE);
    });

    test('forged and truncated handles fail cleanly', async (t) => {
      const { b, root } = await open(t);
      const f = await file(b, root, 'f');
      const forged = Buffer.from(f);
      forged[forged.length - 1]! ^= 0xff;
      for (const h of [forged, f.subarray(0, 3), Buffer.alloc(0), Buffer.alloc(48, 0xab)]) {
        await rejectsWith(b.getattr(h), 'EBADHANDLE', 'ESTALE');
        await rejectsWith(b.read(ROOT, h, 0n, 1), 'EBADHANDLE', 'ESTALE');
        await rejectsWith(b.lookup(ROOT, h, 'f'), 'EBADHANDLE', 'ESTALE');
      }
    });

    test('fsstat and fsinfo', async (t) => {
      const { b, root } = await open(t);
      const s = await b.fsstat(root);
      assert.ok(s.totalBytes >= s.freeBytes && s.freeBytes >= s.availBytes);
      const i = await b.fsinfo(root);
      assert.ok(i.maxRead >= 65536 && i.maxWrite >= 65536);
      assert.ok(i.nameMax >= 255);
      const delta: Time = i.timeDelta;
      assert.ok(delta.sec >= 0);
    });
  });
}
