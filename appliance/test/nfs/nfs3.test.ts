/**
 * NFSv3 and MOUNT semantics over raw RPC against an in-process server:
 * export rules (ACCES, ROFS, squash, secure, hot updates), `..` at the
 * export root, MOUNT's lists, READDIR paging, FSINFO/PATHCONF/FSSTAT and
 * the write verifier.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBackend } from '../../src/nfs/backend/memory/index.js';
import type { ExportSpec } from '../../src/nfs/exports.js';
import type { XdrReader } from '../../src/nfs/xdr/reader.js';
import { XdrWriter } from '../../src/nfs/xdr/writer.js';
import { dirop, readPostOpAttr, readWcc, RpcClient, sattr } from './helpers/rpc-client.js';
import { startTestServer } from './helpers/server.js';

const MOUNT = 100005;

async function connect(t: import('node:test').TestContext, port: number, localPort?: number) {
  const c = await RpcClient.connect(port, localPort);
  t.after(() => c.close());
  return c;
}

function created(r: XdrReader): Buffer {
  assert.equal(r.u32(), 0);
  assert.equal(r.bool(), true);
  return Buffer.from(r.opaque(64));
}

test('a client outside the export list gets MNT3ERR_ACCES and NFS3ERR_ACCES; hot setExports applies at once', async (t) => {
  const backend = new MemoryBackend();
  const open: ExportSpec[] = [{ path: '/export', backend, clients: [{ match: '127.0.0.0/8', squash: 'no_root_squash' }] }];
  const closed: ExportSpec[] = [{ path: '/export', backend, clients: [{ match: '10.9.9.9' }, { match: '::1' }] }];
  const s = await startTestServer(t, { backend, exports: () => open });
  const c = await connect(t, s.port);
  const { fh } = await c.mount('/export');
  assert.ok(fh);
  s.server.setExports(closed);
  assert.equal((await c.mount('/export')).status, 13, 'MNT3ERR_ACCES');
  const g = await c.nfs(1, new XdrWriter().opaque(fh));
  assert.equal(g.u32(), 13, 'NFS3ERR_ACCES');
  const cr = await c.nfs(8, sattr(dirop(fh, 'x').u32(0)));
  assert.equal(cr.u32(), 13);
  assert.deepEqual(readWcc(cr), { before: false, after: false }, 'CREATE3resfail keeps its wcc_data');
  cr.done();
  s.server.setExports(open);
  assert.equal((await c.nfs(1, new XdrWriter().opaque(fh))).u32(), 0, 'the same handle works again');
  s.server.setExports([{ ...open[0]!, path: '/other' }]);
  assert.equal((await c.nfs(1, new XdrWriter().opaque(fh))).u32(), 70, 'handle of a removed export: NFS3ERR_STALE');
  assert.equal((await c.mount('/export')).status, 2, 'MNT3ERR_NOENT');
});

test('a read-only export answers NFS3ERR_ROFS to every change, with full result shapes', async (t) => {
  const s = await startTestServer(t, { clients: [{ match: '*', readOnly: true, squash: 'no_root_squash' }] });
  const root = await s.backend.root();
  await s.backend.create({ uid: 0, gid: 0, gids: [] }, root, 'file', { mode: 'unchecked', attrs: {} });
  const c = await connect(t, s.port);
  const { fh } = await c.mount('/export');
  const lk = await c.nfs(3, dirop(fh!, 'file'));
  assert.equal(lk.u32(), 0);
  const file = Buffer.from(lk.opaque(64));
  const calls: Array<[number, XdrWriter]> = [
    [2, sattr(new XdrWriter().opaque(file), 0o600).bool(false)],
    [7, new XdrWriter().opaque(file).u64(0n).u32(1).u32(2).opaque(Buffer.from('x'))],
    [8, sattr(dirop(fh!, 'new').u32(0))],
    [9, sattr(dirop(fh!, 'dir'))],
    [10, sattr(dirop(fh!, 'sym')).string('t')],
    [11, dirop(fh!, 'fifo').u32(7).bool(false).bool(false).bool(false).bool(false).u32(0).u32(0)],
    [12, dirop(fh!, 'file')],
    [13, dirop(fh!, 'file')],
    [14, dirop(fh!, 'file').opaque(fh!).string('b')],
    [15, new XdrWriter().opaque(file).opaque(fh!).string('hard')],
  ];
  for (const [proc, args] of calls) {
    const r = await c.nfs(proc, args);
    assert.equal(r.u32(), 30, `procedure ${proc} answers NFS3ERR_ROFS`);
  }
  const acc = await c.nfs(4, new XdrWriter().opaque(file).u32(0x3f));
  assert.equal(acc.u32(), 0);
  readPostOpAttr(acc);
  assert.equal(acc.u32() & (0x04 | 0x08 | 0x10), 0, 'ACCESS grants no MODIFY/EXTEND/DELETE');
  const rd = await c.nfs(6, new XdrWriter().opaque(file).u64(0n).u32(10));
  assert.equal(rd.u32(), 0, 'reads still work');
});

test('squashing: root_squash maps root to anonuid; all_squash maps everyone; AUTH_NONE is anonymous', async (t) => {
  const backend = new MemoryBackend();
  const s = await startTestServer(t, {
    backend,
    exports: (b) => [
      { path: '/rs', backend: b, clients: [{ match: '*', squash: 'root_squash', anonUid: 500, anonGid: 501 }], id: 1 },
      { path: '/as', backend: b, clients: [{ match: '*', squash: 'all_squash', anonUid: 600, anonGid: 601 }], id: 2 },
      { path: '/nrs', backend: b, clients: [{ match: '*', squash: 'no_root_squash' }], id: 3 },
    ],
  });
  const c = await connect(t, s.port);
  const owner = async (path: string, name: string, cred: Parameters<RpcClient['nfs']>[2]) => {
    const { fh } = await c.mount(path);
    const r = await c.nfs(8, sattr(dirop(fh!, name).u32(0)), cred);
    created(r);
    return readPostOpAttr(r)!;
  };
  assert.equal((await owner('/rs', 'a', { cred: { flavor: 'sys', uid: 0, gid: 0 } })).uid, 500);
  assert.equal((await owner('/rs', 'b', { cred: { flavor: 'sys', uid: 1000, gid: 1000 } })).uid, 1000);
  const all = await owner('/as', 'c', { cred: { flavor: 'sys', uid: 1000, gid: 1000 } });
  assert.deepEqual([all.uid, all.gid], [600, 601]);
  assert.equal((await owner('/nrs', 'd', { cred: { flavor: 'sys', uid: 0, gid: 0 } })).uid, 0);
  assert.equal((await owner('/nrs', 'e', { cred: { flavor: 'none' } })).uid, 65534);
});

test('secure exports accept only privileged source ports', async (t) => {
  const s = await startTestServer(t, { clients: [{ match: '*', secure: true }] });
  const high = await connect(t, s.port);
  assert.equal((await high.mount('/export')).status, 13);
  const low = await connect(t, s.port, 600 + Math.floor(Math.random() * 300));
  assert.equal((await low.mount('/export')).status, 0);
});

test('LOOKUP of .. at the export root stays at the root; bad names are refused', async (t) => {
  const s = await startTestServer(t);
  const c = await connect(t, s.port);
  const { fh: root } = await c.mount('/export');
  const up = await c.nfs(3, dirop(root!, '..'));
  assert.equal(up.u32(), 0);
  assert.ok(Buffer.from(up.opaque(64)).equals(root!), '.. of the root is the root');
  const sub = created(await c.nfs(9, sattr(dirop(root!, 'sub'))));
  const subUp = await c.nfs(3, dirop(sub, '..'));
  assert.equal(subUp.u32(), 0);
  assert.equal(Buffer.from(subUp.opaque(64)).equals(root!), true);
  assert.equal((await c.nfs(3, dirop(root!, 'a/b'))).u32(), 22, 'NFS3ERR_INVAL for a slash');
  assert.equal((await c.nfs(8, sattr(dirop(root!, '..').u32(0)))).u32(), 17, 'creating .. is EXIST');
  assert.equal((await c.nfs(9, sattr(dirop(root!, 'x'.repeat(256))))).u32(), 63, 'NAMETOOLONG');
  assert.equal((await c.nfs(11, dirop(root!, 'r').u32(1))).u32(), 10007, 'MKNOD of a regular file: BADTYPE');
});

test('MOUNT: EXPORT lists exports and clients; DUMP, UMNT and UMNTALL keep the mount list', async (t) => {
  const s = await startTestServer(t, { clients: [{ match: '127.0.0.1' }, { match: '10.0.0.0/8' }] });
  const c = await connect(t, s.port);
  const ex = await c.call(MOUNT, 3, 5);
  const r = ex.body;
  assert.equal(r.bool(), true);
  assert.equal(r.string(1024), '/export');
  const groups: string[] = [];
  while (r.bool()) groups.push(r.string(255));
  assert.deepEqual(groups, ['127.0.0.1', '10.0.0.0/8']);
  assert.equal(r.bool(), false);
  const dump = async () => {
    const d = (await c.call(MOUNT, 3, 2)).body;
    const out: string[] = [];
    while (d.bool()) out.push(`${d.string(255)}:${d.string(1024)}`);
    return out;
  };
  assert.deepEqual(await dump(), []);
  await c.mount('/export');
  assert.deepEqual(await dump(), ['127.0.0.1:/export']);
  await c.call(MOUNT, 3, 3, new XdrWriter().string('/export').toBuffer());
  assert.deepEqual(await dump(), []);
  await c.mount('/export');
  await c.call(MOUNT, 3, 4);
  assert.deepEqual(await dump(), []);
  assert.equal((await c.call(MOUNT, 3, 0)).acceptStat, 0);
});

test('READDIR pages with stable cookies while entries are removed; TOOSMALL and BAD_COOKIE', async (t) => {
  const s = await startTestServer(t);
  const cred = { uid: 0, gid: 0, gids: [] };
  const rootB = await s.backend.root();
  for (let i = 0; i < 500; i++) await s.backend.create(cred, rootB, `f${i}`, { mode: 'unchecked', attrs: {} });
  const c = await connect(t, s.port);
  const { fh: root } = await c.mount('/export');
  const names: string[] = [];
  let cookie = 0n;
  let verf = Buffer.alloc(8);
  let calls = 0;
  for (;;) {
    const r = await c.nfs(16, new XdrWriter().opaque(root!).u64(cookie).fixedOpaque(verf).u32(1024));
    assert.equal(r.u32(), 0);
    readPostOpAttr(r);
    verf = Buffer.from(r.fixedOpaque(8));
    while (r.bool()) {
      r.u64();
      names.push(r.string(255));
      cookie = r.u64();
    }
    const eof = r.bool();
    calls++;
    // Entries already listed disappear mid-listing: cookies must stay good.
    if (calls === 3) for (let i = 0; i < 20; i++) await s.backend.remove(cred, rootB, `f${i}`);
    if (eof) break;
  }
  assert.ok(calls > 10, `listed in ${calls} calls`);
  assert.equal(new Set(names).size, names.length, 'no duplicates');
  assert.equal(names.length, 502);
  const tiny = await c.nfs(16, new XdrWriter().opaque(root!).u64(0n).fixedOpaque(Buffer.alloc(8)).u32(50));
  assert.equal(tiny.u32(), 10005, 'NFS3ERR_TOOSMALL');
  const badVerf = await c.nfs(16, new XdrWriter().opaque(root!).u64(5n).fixedOpaque(Buffer.from('bogus!!!')).u32(4096));
  assert.equal(badVerf.u32(), 10003, 'NFS3ERR_BAD_COOKIE');
  const plus = await c.nfs(17, new XdrWriter().opaque(root!).u64(0n).fixedOpaque(Buffer.alloc(8)).u32(8192).u32(32768));
  assert.equal(plus.u32(), 0);
  readPostOpAttr(plus);
  plus.fixedOpaque(8);
  let n = 0;
  while (plus.bool()) {
    plus.u64();
    plus.string(255);
    plus.u64();
    assert.ok(readPostOpAttr(plus));
    assert.equal(plus.bool(), true);
    s.codec.decode(Buffer.from(plus.opaque(64)));
    n++;
  }
  assert.ok(n > 10);
});

test('FSINFO says 1 MiB reads and writes; PATHCONF and FSSTAT answer; the write verifier is per server instance', async (t) => {
  const s1 = await startTestServer(t);
  const s2 = await startTestServer(t);
  const verfOf = async (port: number) => {
    const c = await connect(t, port);
    const { fh } = await c.mount('/export');
    const info = await c.nfs(19, new XdrWriter().opaque(fh!));
    assert.equal(info.u32(), 0);
    readPostOpAttr(info);
    const [rtmax, rtpref, , wtmax] = [info.u32(), info.u32(), info.u32(), info.u32()];
    assert.deepEqual([rtmax, rtpref, wtmax], [1 << 20, 1 << 20, 1 << 20]);
    const pc = await c.nfs(20, new XdrWriter().opaque(fh!));
    assert.equal(pc.u32(), 0);
    readPostOpAttr(pc);
    assert.deepEqual([pc.u32(), pc.u32()], [65000, 255]);
    const st = await c.nfs(18, new XdrWriter().opaque(fh!));
    assert.equal(st.u32(), 0);
    readPostOpAttr(st);
    assert.ok(st.u64() > 0n);
    const file = created(await c.nfs(8, sattr(dirop(fh!, 'v').u32(0))));
    const w = await c.nfs(7, new XdrWriter().opaque(file).u64(1n << 33n).u32(3).u32(0).opaque(Buffer.from('abc')));
    assert.equal(w.u32(), 0);
    readWcc(w);
    assert.equal(w.u32(), 3);
    w.u32();
    const wverf = Buffer.from(w.fixedOpaque(8));
    const cm = await c.nfs(21, new XdrWriter().opaque(file).u64(0n).u32(0));
    assert.equal(cm.u32(), 0);
    readWcc(cm);
    assert.ok(Buffer.from(cm.fixedOpaque(8)).equals(wverf), 'COMMIT returns the WRITE verifier');
    const ga = await c.nfs(1, new XdrWriter().opaque(file));
    assert.equal(ga.u32(), 0);
    ga.u32();
    ga.u32();
    ga.u32();
    ga.u32();
    ga.u32();
    assert.equal(ga.u64(), (1n << 33n) + 3n, '64-bit size');
    return wverf;
  };
  assert.ok(!(await verfOf(s1.port)).equals(await verfOf(s2.port)));
});

test('a client time with nseconds past 999,999,999 is NFS3ERR_INVAL, and nothing of the call is done', async (t) => {
  const s = await startTestServer(t);
  const c = await connect(t, s.port);
  const { fh } = await c.mount('/export');
  const file = created(await c.nfs(8, sattr(dirop(fh!, 'f').u32(0), 0o644)));
  const badTime = (w: XdrWriter) => w.u32(2).u32(1_700_000_000).u32(1_000_000_000);
  // SETATTR: mode and size along with the bad mtime; neither is set.
  const set = new XdrWriter().opaque(file).bool(true).u32(0o600).bool(false).bool(false).bool(true).u64(4096n).u32(0);
  const st = await c.nfs(2, badTime(set).bool(false));
  assert.equal(st.u32(), 22, 'NFS3ERR_INVAL');
  const g = await c.nfs(1, new XdrWriter().opaque(file));
  assert.equal(g.u32(), 0);
  g.u32(); // type
  assert.equal(g.u32(), 0o644, 'mode unchanged');
  // MKDIR with such an atime: no directory.
  const mk = await c.nfs(9, badTime(dirop(fh!, 'd').bool(false).bool(false).bool(false).bool(false)).u32(0));
  assert.equal(mk.u32(), 22);
  assert.equal((await c.nfs(3, dirop(fh!, 'd'))).u32(), 2, 'NFS3ERR_NOENT');
  // 999,999,999 is a time like any other.
  const ok = new XdrWriter().opaque(file).bool(false).bool(false).bool(false).bool(false).u32(0).u32(2).u32(1_700_000_000).u32(999_999_999);
  assert.equal((await c.nfs(2, ok.bool(false))).u32(), 0);
});
