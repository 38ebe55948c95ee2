/**
 * The posix backend's READDIR/READDIRPLUS fast path (Backend.readdirXdr):
 * the XDR it builds natively, parsed back here and checked against the
 * contract's own calls — the same names, fileids and cookies as `readdir`,
 * the attributes `getattr` gives, wire handles that the server's
 * HandleCodec accepts and that name the same objects as `lookup`; replies
 * within maxcount and dircount; TOOSMALL; EBADCOOKIE. (A 100,000-entry
 * directory is listed this way in posix.test.ts.) Needs root.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPosixBackend } from '../../../src/nfs/backend/posix/index.js';
import { nfsstat3 } from '../../../src/nfs/nfs3/types.js';
import { codec, EXPORT_ID, listAll, parse } from '../helpers/readdir-xdr.js';
import { rejectsWith, ROOT } from './conformance.js';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-rdxdr-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('posix readdirXdr: entries, attributes and handles agree with readdir, getattr, lookup and the HandleCodec', async (t) => {
  const dir = await tempDir(t);
  for (let i = 0; i < 300; i++) await writeFile(join(dir, `file-${i}-${'x'.repeat(i % 37)}`), 'y'.repeat(i));
  await mkdir(join(dir, 'sub'));
  await symlink('file-1', join(dir, 'link'));
  const b = await openPosixBackend(dir);
  t.after(() => b.close());
  const root = await b.root();
  assert.ok(b.readdirXdr, 'the posix backend has the fast path');

  const { entries, pages } = await listAll(b, root, true, 8192, 4096);
  assert.ok(pages.length > 3, `${pages.length} pages`);
  // The same listing as the contract's readdir, cookies included.
  const slow = [];
  let cookie = 0n;
  let verifier: Buffer = Buffer.alloc(8);
  for (;;) {
    const page = await b.readdir(ROOT, root, cookie, verifier, 1000, false);
    slow.push(...page.entries);
    if (page.eof) break;
    cookie = page.entries.at(-1)!.cookie;
    verifier = page.verifier;
  }
  assert.deepEqual(
    entries.map((e) => [e.name.toString(), e.fileid, e.cookie]),
    slow.map((e) => [e.name, e.fileid, e.cookie]),
  );
  assert.equal(entries.length, 300 + 2 + 2);
  for (const e of entries) {
    const name = e.name.toString();
    assert.ok(e.fh && e.attrs, `${name} has a handle and attributes`);
    const decoded = codec.decode(e.fh);
    assert.equal(decoded.exportId, EXPORT_ID);
    assert.deepEqual(e.fh, codec.encode(EXPORT_ID, decoded.backend), 'the bytes HandleCodec.encode makes');
    const attrs = await b.getattr(decoded.backend);
    assert.deepEqual({ ...e.attrs, atime: attrs.atime }, attrs, `attributes of ${name}`);
    if (name === '.' || name === '..') assert.deepEqual(decoded.backend, root);
    else assert.deepEqual(decoded.backend, (await b.lookup(ROOT, root, name)).handle, `handle of ${name}`);
  }
  assert.equal(entries.find((e) => e.name.toString() === 'link')!.attrs!.type, 'lnk');
  assert.equal(entries.find((e) => e.name.toString() === 'sub')!.attrs!.type, 'dir');
  assert.deepEqual(pages[0]!.dirAttrs, { ...(await b.getattr(root)), atime: pages[0]!.dirAttrs!.atime });

  // READDIR (no plus) lists the same.
  const bare = await listAll(b, root, false, 1024);
  assert.deepEqual(
    bare.entries.map((e) => [e.name.toString(), e.cookie]),
    entries.map((e) => [e.name.toString(), e.cookie]),
  );
  assert.ok(bare.entries.every((e) => !e.fh && !e.attrs));
});

test('posix readdirXdr: dircount bounds the directory part, TOOSMALL, EBADCOOKIE, ENOTDIR', async (t) => {
  const dir = await tempDir(t);
  for (let i = 0; i < 100; i++) closeSync(openSync(join(dir, `n${i}`), 'w'));
  const b = await openPosixBackend(dir);
  t.after(() => b.close());
  const root = await b.root();
  const key = codec.wireKey(EXPORT_ID);
  // entry3 of "nNN" is 28 bytes: a dircount of 100 allows 3 entries, but
  // the first is always sent whatever dircount says.
  const small = parse(await b.readdirXdr!(ROOT, root, { cookie: 0n, verifier: Buffer.alloc(8), dircount: 100, maxcount: 32768, plus: true }, key), true);
  assert.equal(small.entries.length, 3);
  assert.equal(small.eof, false);
  const one = parse(await b.readdirXdr!(ROOT, root, { cookie: 0n, verifier: Buffer.alloc(8), dircount: 1, maxcount: 32768, plus: true }, key), true);
  assert.equal(one.entries.length, 1);
  // Room for the reply's fixed part but not for 200 bytes of entries: TOOSMALL, with the directory's attributes.
  const tiny = parse(await b.readdirXdr!(ROOT, root, { cookie: 0n, verifier: Buffer.alloc(8), dircount: 0, maxcount: 250, plus: true }, key), true);
  assert.equal(tiny.status, nfsstat3.NFS3ERR_TOOSMALL);
  assert.equal(tiny.dirAttrs?.type, 'dir');
  const tinyBare = parse(await b.readdirXdr!(ROOT, root, { cookie: 0n, verifier: Buffer.alloc(8), dircount: 0, maxcount: 120, plus: false }, key), false);
  assert.equal(tinyBare.status, nfsstat3.NFS3ERR_TOOSMALL);
  // Whole listing in small pages.
  const all = await listAll(b, root, true, 1024);
  assert.equal(new Set(all.entries.map((e) => e.name.toString())).size, 102);
  await rejectsWith(b.readdirXdr!(ROOT, root, { cookie: all.entries[5]!.cookie, verifier: Buffer.from('badverf!'), dircount: 0, maxcount: 8192, plus: true }, key), 'EBADCOOKIE');
  const f = (await b.lookup(ROOT, root, 'n1')).handle;
  await rejectsWith(b.readdirXdr!(ROOT, f, { cookie: 0n, verifier: Buffer.alloc(8), dircount: 0, maxcount: 8192, plus: true }, key), 'ENOTDIR');
});

test('posix readdirXdr: a page read ahead is not served once something changed', async (t) => {
  const dir = await tempDir(t);
  for (let i = 0; i < 60; i++) await writeFile(join(dir, `f${String(i).padStart(2, '0')}`), '');
  const b = await openPosixBackend(dir);
  t.after(() => b.close());
  const root = await b.root();
  const key = codec.wireKey(EXPORT_ID);
  const ask = (cookie: bigint, verifier: Buffer) => b.readdirXdr!(ROOT, root, { cookie, verifier, dircount: 0, maxcount: 2048, plus: true }, key);
  const first = parse(await ask(0n, Buffer.alloc(8)), true);
  assert.equal(first.eof, false);
  const last = first.entries.at(-1)!;
  // Page 2 is being read ahead now; let it finish, then change a file it lists, through the backend.
  await new Promise((r) => setTimeout(r, 50));
  const second0 = parse(await ask(last.cookie, first.verf!), true);
  const victim = second0.entries.find((e) => e.name.toString().startsWith('f'))!;
  const third = parse(await ask(second0.entries.at(-1)!.cookie, second0.verf!), true);
  assert.ok(third.entries.length > 0);
  // Again from page 1: page 2 is read ahead; a WRITE makes it stale.
  const again = parse(await ask(0n, Buffer.alloc(8)), true);
  await new Promise((r) => setTimeout(r, 50));
  const h = codec.decode(victim.fh!).backend;
  await b.write(ROOT, h, 0n, Buffer.from('now 23 bytes long.....'), 'unstable');
  const second = parse(await ask(again.entries.at(-1)!.cookie, again.verf!), true);
  const seen = second.entries.find((e) => e.name.equals(victim.name))!;
  assert.equal(seen.attrs!.size, 22n, 'the size after the write, not the page read before it');
});
