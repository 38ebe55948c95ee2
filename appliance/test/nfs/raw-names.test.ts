/**
 * filename3 is opaque bytes (RFC 1813 §2.5): names that are not valid
 * UTF-8 are served exactly, end to end, by the posix backend — CREATE,
 * LOOKUP, READDIR and READDIRPLUS (fast path and the contract's readdir),
 * RENAME, LINK, REMOVE — over raw RPC against an in-process server, and
 * so are symlink targets (nfspath3) in SYMLINK and READLINK; a backend
 * without raw names refuses them with NFS3ERR_INVAL instead of acting on
 * another name. Needs root (posix backend).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readlink, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { XdrReader } from '../../src/nfs/xdr/reader.js';
import { XdrWriter } from '../../src/nfs/xdr/writer.js';
import { readPostOpAttr, readWcc, RpcClient, sattr } from './helpers/rpc-client.js';
import { parseReply } from './helpers/readdir-xdr.js';
import { posixRawServer, startTestServer } from './helpers/server.js';

/** Latin-1 "café" and a lone continuation byte: neither is UTF-8. */
const RAW = Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x2d, 0x80]);
const RAW2 = Buffer.from([0xff, 0xfe, 0x2e, 0x74, 0x78, 0x74]);
const LINKED = Buffer.from([0x6c, 0x6e, 0x6b, 0xc3]);
/** A symlink target in Latin-1: "../café/x". */
const TARGET = Buffer.from([0x2e, 0x2e, 0x2f, 0x63, 0x61, 0x66, 0xe9, 0x2f, 0x78]);

function dirop(fh: Buffer, name: Buffer | string): XdrWriter {
  return new XdrWriter().opaque(fh).string(name);
}

/** READDIR (plus false) or READDIRPLUS of `dir`: the names, as bytes. */
async function list(c: RpcClient, dir: Buffer, plus: boolean): Promise<Buffer[]> {
  const names: Buffer[] = [];
  let cookie = 0n;
  let verf: Buffer = Buffer.alloc(8);
  for (;;) {
    const args = new XdrWriter().opaque(dir).u64(cookie).fixedOpaque(verf);
    const page = parseReply(plus ? await c.nfs(17, args.u32(4096).u32(32768)) : await c.nfs(16, args.u32(32768)), plus);
    assert.equal(page.status, 0, 'NFS3_OK');
    verf = page.verf!;
    for (const e of page.entries) names.push(Buffer.from(e.name));
    cookie = page.entries.at(-1)?.cookie ?? cookie;
    if (page.eof) return names;
  }
}

function has(names: Buffer[], name: Buffer): boolean {
  return names.some((n) => n.equals(name));
}

async function onDisk(dir: string): Promise<Buffer[]> {
  return readdir(dir, { encoding: 'buffer' });
}

const posixServer = (t: TestContext, withFastPath: boolean) => posixRawServer(t, withFastPath, 'cairn-rawnames-');

function handleOf(r: XdrReader, what: string): Buffer {
  assert.equal(r.u32(), 0, `${what}: NFS3_OK`);
  assert.equal(r.bool(), true, `${what}: a handle follows`);
  return Buffer.from(r.opaque(64));
}

for (const fast of [true, false]) {
  test(`posix: names that are not UTF-8 are kept as bytes (READDIR${fast ? ' fast path' : ''}, LOOKUP, CREATE, RENAME, LINK, REMOVE)`, async (t) => {
    const { dir, c, root } = await posixServer(t, fast);
    const made = handleOf(await c.nfs(8, sattr(dirop(root, RAW).u32(1))), 'CREATE');
    assert.ok(has(await onDisk(dir), RAW), 'on disk with the exact bytes');
    for (const plus of [false, true]) assert.ok(has(await list(c, root, plus), RAW), `listed exactly (plus=${plus})`);
    const lk = await c.nfs(3, dirop(root, RAW));
    assert.equal(lk.u32(), 0, 'LOOKUP: NFS3_OK');
    const found = Buffer.from(lk.opaque(64));
    assert.deepEqual(found, made, 'LOOKUP finds what CREATE made');
    // The lossy decoding of the name is another name.
    assert.equal((await c.nfs(3, dirop(root, RAW.toString('utf8')))).u32(), 2, 'NFS3ERR_NOENT');

    const rn = await c.nfs(14, dirop(root, RAW).opaque(root).string(RAW2));
    assert.equal(rn.u32(), 0, 'RENAME');
    readWcc(rn);
    readWcc(rn);
    let names = await onDisk(dir);
    assert.ok(has(names, RAW2) && !has(names, RAW), 'renamed on disk');
    const ln = await c.nfs(15, new XdrWriter().opaque(made).opaque(root).string(LINKED));
    assert.equal(ln.u32(), 0, 'LINK');
    assert.ok(has(await onDisk(dir), LINKED));
    for (const name of [RAW2, LINKED]) {
      const rm_ = await c.nfs(12, dirop(root, name));
      assert.equal(rm_.u32(), 0, `REMOVE ${name.toString('hex')}`);
    }
    names = await onDisk(dir);
    assert.equal(names.length, 0, 'all gone');
    // A '/' inside raw bytes is still refused.
    const slash = Buffer.concat([RAW, Buffer.from('/x')]);
    assert.equal((await c.nfs(8, sattr(dirop(root, slash).u32(1)))).u32(), 22, 'NFS3ERR_INVAL');
  });
}

test('posix: a symlink target that is not UTF-8 is stored and read back byte for byte', async (t) => {
  const { dir, c, root } = await posixServer(t, true);
  const made = handleOf(await c.nfs(10, sattr(dirop(root, 'sl')).string(TARGET)), 'SYMLINK');
  assert.deepEqual(await readlink(join(dir, 'sl'), { encoding: 'buffer' }), TARGET, 'on disk exactly');
  const rl = await c.nfs(5, new XdrWriter().opaque(made));
  assert.equal(rl.u32(), 0, 'READLINK: NFS3_OK');
  readPostOpAttr(rl);
  assert.deepEqual(Buffer.from(rl.opaque(4096)), TARGET, 'READLINK returns the same bytes');
  // One made beside NFS (a shell, Samba) reads back exactly too.
  await symlink(Buffer.from([0x61, 0xff]) as unknown as string, join(dir, 'other'));
  const lk = await c.nfs(3, dirop(root, 'other'));
  assert.equal(lk.u32(), 0);
  const rl2 = await c.nfs(5, new XdrWriter().opaque(Buffer.from(lk.opaque(64))));
  assert.equal(rl2.u32(), 0);
  readPostOpAttr(rl2);
  assert.deepEqual(Buffer.from(rl2.opaque(4096)), Buffer.from([0x61, 0xff]));
});

test('a backend without raw names refuses names that are not UTF-8 with NFS3ERR_INVAL', async (t) => {
  const s = await startTestServer(t);
  const c = await RpcClient.connect(s.port);
  t.after(() => c.close());
  const { fh } = await c.mount('/export');
  const cr = await c.nfs(8, sattr(dirop(fh!, RAW).u32(1)));
  assert.equal(cr.u32(), 22);
  assert.equal((await c.nfs(3, dirop(fh!, RAW))).u32(), 22);
  assert.equal((await c.nfs(10, sattr(dirop(fh!, 'sl')).string(TARGET))).u32(), 22, 'SYMLINK with a raw target: NFS3ERR_INVAL');
  const names = (await s.backend.readdir({ uid: 0, gid: 0, gids: [] }, await s.backend.root(), 0n, Buffer.alloc(8), 100, false)).entries.map((e) => e.name);
  assert.deepEqual(names.sort(), ['.', '..'], 'nothing made under another name');
});
