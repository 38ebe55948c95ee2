/**
 * Raw-socket tests of the RPC layer against an in-process server: what
 * real clients never send (wrong versions, garbage, oversized records),
 * fragmentation, out-of-order replies and the duplicate request cache.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Backend } from '../../src/nfs/backend/backend.js';
import { MemoryBackend } from '../../src/nfs/backend/memory/index.js';
import { XdrWriter } from '../../src/nfs/xdr/writer.js';
import { dirop, encodeCall, frame, readWcc, RpcClient, sattr } from './helpers/rpc-client.js';
import { startTestServer } from './helpers/server.js';

const NFS = 100003;
const MOUNT = 100005;

async function setup(t: import('node:test').TestContext, backend?: Backend) {
  const s = await startTestServer(t, { backend, maxRecord: 256 * 1024 });
  const c = await RpcClient.connect(s.port);
  t.after(() => c.close());
  const { fh } = await c.mount('/export');
  return { ...s, c, root: fh! };
}

async function createFile(c: RpcClient, dir: Buffer, name: string, opts = {}): Promise<Buffer> {
  const r = await c.nfs(8, sattr(dirop(dir, name).u32(0)), opts);
  assert.equal(r.u32(), 0, `CREATE ${name}`);
  assert.equal(r.bool(), true);
  return Buffer.from(r.opaque(64));
}

test('RPC errors: RPC_MISMATCH, PROG_UNAVAIL, PROG_MISMATCH, PROC_UNAVAIL', async (t) => {
  const { c } = await setup(t);
  const mismatch = await c.call(NFS, 3, 0, undefined, { rpcvers: 3 });
  assert.equal(mismatch.accepted, false);
  assert.deepEqual([mismatch.rejectStat, mismatch.low, mismatch.high], [0, 2, 2]);
  const unavail = await c.call(100227, 3, 0);
  assert.deepEqual([unavail.accepted, unavail.acceptStat], [true, 1]);
  const v4 = await c.call(NFS, 4, 0);
  assert.deepEqual([v4.acceptStat, v4.low, v4.high], [2, 3, 3]);
  const mnt1 = await c.call(MOUNT, 1, 0);
  assert.deepEqual([mnt1.acceptStat, mnt1.low, mnt1.high], [2, 3, 3]);
  const proc = await c.call(NFS, 3, 22);
  assert.deepEqual([proc.accepted, proc.acceptStat], [true, 3]);
  const mproc = await c.call(MOUNT, 3, 6);
  assert.equal(mproc.acceptStat, 3);
  const ok = await c.call(NFS, 3, 0);
  assert.deepEqual([ok.accepted, ok.acceptStat], [true, 0]);
});

test('RPC errors: GARBAGE_ARGS for truncated or inconsistent arguments', async (t) => {
  const { c, root } = await setup(t);
  const short = await c.call(NFS, 3, 1, Buffer.from([0, 0, 0, 40, 1, 2]));
  assert.equal(short.acceptStat, 4);
  const bigFh = await c.call(NFS, 3, 1, new XdrWriter().opaque(Buffer.alloc(65)).toBuffer());
  assert.equal(bigFh.acceptStat, 4, 'nfs_fh3 longer than 64 bytes');
  // WRITE whose count exceeds the data it carries.
  const w = new XdrWriter().opaque(root).u64(0n).u32(100).u32(0).opaque(Buffer.alloc(10));
  assert.equal((await c.call(NFS, 3, 7, w.toBuffer())).acceptStat, 4);
  // A bad enum (stable_how 7).
  const w2 = new XdrWriter().opaque(root).u64(0n).u32(1).u32(7).opaque(Buffer.alloc(1));
  assert.equal((await c.call(NFS, 3, 7, w2.toBuffer())).acceptStat, 4);
  const m = await c.call(MOUNT, 3, 1, Buffer.from([0, 0, 4, 1]));
  assert.equal(m.acceptStat, 4, 'dirpath over MNTPATHLEN');
});

test('RPC errors: AUTH_ERROR for unknown flavors, malformed AUTH_SYS and bad verifiers', async (t) => {
  const { c, root } = await setup(t);
  const gss = await c.call(NFS, 3, 1, new XdrWriter().opaque(root).toBuffer(), { cred: { flavor: 6, body: Buffer.alloc(8) } });
  assert.deepEqual([gss.accepted, gss.rejectStat, gss.authStat], [false, 1, 1]);
  const bad = await c.call(NFS, 3, 1, new XdrWriter().opaque(root).toBuffer(), { cred: { flavor: 1, body: Buffer.alloc(6) } });
  assert.deepEqual([bad.rejectStat, bad.authStat], [1, 1]);
  const tooManyGids = await c.call(NFS, 3, 0, undefined, { cred: { flavor: 'sys', uid: 1, gid: 1, gids: Array.from({ length: 17 }, (_, i) => i) } });
  assert.deepEqual([tooManyGids.rejectStat, tooManyGids.authStat], [1, 1]);
  const verf = await c.call(NFS, 3, 0, undefined, { verfFlavor: 1 });
  assert.deepEqual([verf.rejectStat, verf.authStat], [1, 3]);
  // Header cut short after the xid: still answered (AUTH_BADCRED), not dropped.
  const { xid, body } = encodeCall(NFS, 3, 0, Buffer.alloc(0));
  const p = c.reply(xid);
  c.write(frame(body.subarray(0, 30)));
  assert.equal((await p).authStat, 1);
  const none = await c.call(NFS, 3, 1, new XdrWriter().opaque(root).toBuffer(), { cred: { flavor: 'none' } });
  assert.equal(none.acceptStat, 0, 'AUTH_NONE is accepted');
});

test('RPC: an oversized record closes only that connection', async (t) => {
  const { c, port } = await setup(t);
  const other = await RpcClient.connect(port);
  t.after(() => other.close());
  const h = Buffer.alloc(4);
  h.writeUInt32BE((0x80000000 | (300 * 1024)) >>> 0);
  c.write(h);
  await c.closed;
  assert.equal((await other.call(NFS, 3, 0)).acceptStat, 0);
});

test('RPC: multi-fragment records and records split at every byte', async (t) => {
  const { c, root } = await setup(t);
  const { xid, body } = encodeCall(NFS, 3, 1, new XdrWriter().opaque(root).toBuffer());
  const frags: Buffer[] = [];
  for (let i = 0; i < body.length; i += 7) {
    const part = body.subarray(i, i + 7);
    const h = Buffer.alloc(4);
    h.writeUInt32BE(((i + 7 >= body.length ? 0x80000000 : 0) | part.length) >>> 0);
    frags.push(h, part);
  }
  const stream = Buffer.concat(frags);
  const p = c.reply(xid);
  for (const b of stream) c.write(Buffer.from([b]));
  const rep = await p;
  assert.equal(rep.acceptStat, 0);
  assert.equal(rep.body.u32(), 0, 'GETATTR OK');
});

test('RPC: many calls in flight on one connection, answered out of order', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  class SlowRead extends MemoryBackend {
    override async read(...args: Parameters<MemoryBackend['read']>) {
      await gate;
      return super.read(...args);
    }
  }
  const { c, root } = await setup(t, new SlowRead());
  const fh = await createFile(c, root, 'f');
  const readArgs = new XdrWriter().opaque(fh).u64(0n).u32(10).toBuffer();
  const slow = c.call(NFS, 3, 6, readArgs);
  const fast = await Promise.all(Array.from({ length: 200 }, () => c.nfs(1, new XdrWriter().opaque(fh))));
  assert.ok(fast.every((r) => r.u32() === 0));
  release();
  const rep = await slow;
  assert.equal(rep.body.u32(), 0);
  assert.equal(c.order.at(-1), rep.xid, 'the READ sent first was answered last');
});

test('DRC: a retransmitted REMOVE, CREATE or RENAME gets the first reply, also on a new connection', async (t) => {
  const { c, root, port, server } = await setup(t);
  await createFile(c, root, 'victim');
  const xid = 0x5eed;
  const removeArgs = dirop(root, 'victim').toBuffer();
  const first = await c.call(NFS, 3, 12, removeArgs, { xid });
  assert.equal(first.body.u32(), 0);
  const again = await c.call(NFS, 3, 12, removeArgs, { xid });
  assert.ok(again.raw.equals(first.raw), 'same bytes as the first reply');
  const c2 = await RpcClient.connect(port);
  t.after(() => c2.close());
  const third = await c2.call(NFS, 3, 12, removeArgs, { xid });
  assert.ok(third.raw.equals(first.raw), 'retransmission after reconnecting');
  const fresh = await c.call(NFS, 3, 12, removeArgs);
  assert.equal(fresh.body.u32(), 2, 'a new xid really runs again: NFS3ERR_NOENT');

  const guarded = sattr(dirop(root, 'g').u32(1)).toBuffer();
  const g1 = await c.call(NFS, 3, 8, guarded, { xid: 77 });
  const g2 = await c.call(NFS, 3, 8, guarded, { xid: 77 });
  assert.equal(g1.body.u32(), 0);
  assert.equal(g2.body.u32(), 0, 'retransmitted GUARDED create is not EXIST');

  await createFile(c, root, 'from');
  const ren = new XdrWriter().opaque(root).string('from').opaque(root).string('to').toBuffer();
  assert.equal((await c.call(NFS, 3, 14, ren, { xid: 99 })).body.u32(), 0);
  assert.equal((await c.call(NFS, 3, 14, ren, { xid: 99 })).body.u32(), 0);
  assert.ok((server.stats.drcHits ?? 0) >= 4);
});

test('a half-open connection and a client that never reads do not block others', async (t) => {
  const { c, root, port } = await setup(t);
  const fh = await createFile(c, root, 'big');
  const data = Buffer.alloc(200 * 1024, 1);
  const wr = await c.nfs(7, new XdrWriter().opaque(fh).u64(0n).u32(data.length).u32(2).opaque(data));
  assert.equal(wr.u32(), 0);
  // Half a record, then silence.
  const stalled = await RpcClient.connect(port);
  t.after(() => stalled.close());
  stalled.write(Buffer.from([0x80, 0, 1, 0, 0, 0]));
  // A client that pipelines reads and never reads the replies.
  const deaf = await RpcClient.connect(port);
  t.after(() => deaf.close());
  deaf.sock.pause();
  const read = frame(encodeCall(NFS, 3, 6, new XdrWriter().opaque(fh).u64(0n).u32(data.length).toBuffer()).body);
  for (let i = 0; i < 400; i++) deaf.write(read);
  await sleep(200);
  const other = await RpcClient.connect(port);
  t.after(() => other.close());
  const start = Date.now();
  for (let i = 0; i < 20; i++) assert.equal((await other.nfs(1, new XdrWriter().opaque(fh))).u32(), 0);
  assert.ok(Date.now() - start < 5000);
});

test('the duplicate request cache and wcc shapes: failures keep their full shape', async (t) => {
  const { c, root } = await setup(t);
  // REMOVE of a missing name: status then wcc_data with post-op attrs of the directory.
  const r = await c.nfs(12, dirop(root, 'missing'));
  assert.equal(r.u32(), 2);
  assert.deepEqual(readWcc(r), { before: false, after: true });
  r.done();
  // LOOKUP failure: post_op_attr of the directory.
  const l = await c.nfs(3, dirop(root, 'missing'));
  assert.equal(l.u32(), 2);
  assert.equal(l.bool(), true);
});
