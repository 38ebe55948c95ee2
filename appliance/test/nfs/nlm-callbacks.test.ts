/**
 * What the lock server says to its clients, with the client side (its
 * portmapper, statd and lock manager) played by a small RPC server:
 *
 *  - across a restart (nlm4/monitor.ts): a host that held a lock is on
 *    disk; the restarted server bumps its NSM state, tells that host's
 *    statd (SM_NOTIFY), and for its grace period grants only reclaims — a
 *    new lock or a TEST waits (NLM4_DENIED_GRACE_PERIOD), so the old
 *    holder gets its lock back before anyone else can take it;
 *  - blocked requests (nlm4/blocked.ts): when the conflicting lock goes,
 *    the waiter gets the lock and a GRANTED callback; a client that
 *    refuses the callback does not keep it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBackend } from '../../src/nfs/backend/memory/index.js';
import { HandleCodec } from '../../src/nfs/backend/filehandle.js';
import { ExportTable } from '../../src/nfs/exports.js';
import { BlockedLocks } from '../../src/nfs/nlm4/blocked.js';
import { LockTable } from '../../src/nfs/nlm4/locks.js';
import { NlmMonitor } from '../../src/nfs/nlm4/monitor.js';
import { Dispatcher } from '../../src/nfs/rpc/dispatch.js';
import type { ProcEntry } from '../../src/nfs/rpc/program.js';
import { createRpcServer } from '../../src/nfs/rpc/transport.js';
import { NfsServer } from '../../src/nfs/server.js';
import { XdrWriter } from '../../src/nfs/xdr/writer.js';
import { RpcClient, dirop, sattr } from './helpers/rpc-client.js';
import { quietLog } from './helpers/server.js';

const GRANTED = 0;
const DENIED = 1;
const NOLOCKS = 2;
const BLOCKED = 3;
const GRACE = 4;

/** A lock client's portmapper, statd (records SM_NOTIFY) and lock manager (records GRANTED, answers `grantAnswer`), on one port. */
async function fakeClientSide(t: import('node:test').TestContext) {
  const notified: Array<{ monName: string; state: number }> = [];
  const granted: Array<{ svid: number; offset: bigint; len: bigint; exclusive: boolean }> = [];
  const side = { port: 0, notified, granted, grantAnswer: GRANTED };
  const getport: ProcEntry<void, number> = {
    name: 'PMAPPROC_GETPORT',
    flags: 0,
    decode: (r) => void r.fixedOpaque(16),
    handler: async () => side.port,
    encode: (w, p) => void w.u32(p),
  };
  const notify: ProcEntry<{ monName: string; state: number }, void> = {
    name: 'SM_NOTIFY',
    flags: 0,
    decode: (r) => ({ monName: r.string(1024), state: r.i32() }),
    handler: async (_ctx, a) => void notified.push(a),
    encode: () => undefined,
  };
  const grant: ProcEntry<{ cookie: Buffer; g: (typeof granted)[number] }, { cookie: Buffer; stat: number }> = {
    name: 'NLM4_GRANTED',
    flags: 0,
    decode(r) {
      const cookie = Buffer.from(r.opaque(1024));
      const exclusive = r.bool();
      r.string(1024);
      r.opaque(1024);
      r.opaque(1024);
      return { cookie, g: { exclusive, svid: r.i32(), offset: r.u64(), len: r.u64() } };
    },
    handler: async (_ctx, a) => {
      granted.push(a.g);
      return { cookie: a.cookie, stat: side.grantAnswer };
    },
    encode: (w, res) => void w.opaque(res.cookie).u32(res.stat),
  };
  const table = (at: number, e: ProcEntry) => Object.assign([] as ProcEntry[], { [at]: e });
  const programs = [
    { name: 'portmapper', prog: 100000, versions: new Map([[2, table(3, getport)]]) },
    { name: 'status', prog: 100024, versions: new Map([[1, table(6, notify)]]) },
    { name: 'nlockmgr', prog: 100021, versions: new Map([[4, table(5, grant)]]) },
  ];
  const state = { exports: new ExportTable([]), codec: new HandleCodec(randomBytes(32)), log: quietLog, mounts: new Map(), locks: new LockTable(), monitor: new NlmMonitor({ log: quietLog }), blocked: new BlockedLocks({ log: quietLog }) };
  const server = createRpcServer(new Dispatcher(programs, state), quietLog);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  side.port = (server.address() as AddressInfo).port;
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return side;
}

/** A server over a memory backend whose lock clients' portmapper is `side`'s (its NLM state in `stateDir`, if given); a connected client and a file's handle. */
async function serverWithFile(t: import('node:test').TestContext, side: { port: number }, stateDir?: string) {
  const backend = new MemoryBackend();
  const s = new NfsServer({ handleSecret: randomBytes(32), log: quietLog, exports: [{ path: '/export', backend, clients: [{ match: '*', squash: 'no_root_squash' }] }], portmapperPort: side.port, stateDir });
  const { port } = await s.start({ host: '127.0.0.1', port: 0 });
  const c = await RpcClient.connect(port);
  t.after(async () => {
    c.close();
    await s.stop();
    await backend.close();
  });
  const { fh: root } = await c.mount('/export');
  const made = await c.nfs(8, sattr(dirop(root!, 'f').u32(0)));
  assert.equal(made.u32(), 0);
  made.bool();
  return { c, fh: Buffer.from(made.opaque(64)) };
}

function lockArgs(host: string, fh: Buffer, reclaim: boolean, block = false, offset = 0n, len = 0n): Buffer {
  return new XdrWriter().opaque(Buffer.from('c')).bool(block).bool(true)
    .string(host).opaque(fh).opaque(Buffer.from(`1@${host}`)).i32(1).u64(offset).u64(len)
    .bool(reclaim).i32(1).toBuffer();
}

async function lock(c: RpcClient, host: string, fh: Buffer, reclaim = false, block = false, offset = 0n, len = 0n): Promise<number> {
  const r = (await c.call(100021, 4, 2, lockArgs(host, fh, reclaim, block, offset, len))).body;
  r.opaque(1024);
  return r.u32();
}

async function unlock(c: RpcClient, host: string, fh: Buffer): Promise<number> {
  const r = (await c.call(100021, 4, 4, new XdrWriter().opaque(Buffer.from('u')).string(host).opaque(fh).opaque(Buffer.from(`1@${host}`)).i32(1).u64(0n).u64(0n).toBuffer())).body;
  r.opaque(1024);
  return r.u32();
}

const until = async (what: () => boolean) => {
  for (let i = 0; i < 100 && !what(); i++) await new Promise((r) => setTimeout(r, 20));
};

test('NLM after a restart: the lock holder is told (SM_NOTIFY), reclaims in the grace period, and nobody else gets in meanwhile', async (t) => {
  const stateDir = await mkdtemp(join(tmpdir(), 'cairn-nlm-state-'));
  t.after(() => rm(stateDir, { recursive: true, force: true }));
  const client = await fakeClientSide(t);
  const backend = new MemoryBackend();
  t.after(() => backend.close());
  const secret = randomBytes(32);
  const start = async () => {
    const s = new NfsServer({
      handleSecret: secret,
      log: quietLog,
      exports: [{ path: '/export', backend, clients: [{ match: '*', squash: 'no_root_squash' }] }],
      stateDir,
      nlmGraceMs: 1500,
      portmapperPort: client.port,
    });
    const { port } = await s.start({ host: '127.0.0.1', port: 0 });
    const c = await RpcClient.connect(port);
    t.after(async () => {
      c.close();
      await s.stop();
    });
    return { s, c };
  };

  const first = await start();
  assert.equal(await readFile(join(stateDir, 'nsm-state'), 'utf8'), '1\n', 'first start: state 1');
  const { fh: root } = await first.c.mount('/export');
  const made = await first.c.nfs(8, sattr(dirop(root!, 'disk.img').u32(0)));
  assert.equal(made.u32(), 0);
  made.bool();
  const fh = Buffer.from(made.opaque(64));
  assert.equal(await lock(first.c, 'alpha', fh), GRANTED, 'no grace on a first start');
  const saved = JSON.parse(await readFile(join(stateDir, 'nlm-clients.json'), 'utf8')) as unknown;
  assert.deepEqual(saved, [{ name: 'alpha', address: '127.0.0.1', server: '127.0.0.1' }], 'the holder is on disk');
  first.c.close();
  await first.s.stop();

  const second = await start();
  assert.equal(await readFile(join(stateDir, 'nsm-state'), 'utf8'), '3\n', 'restarted: the next odd state');
  for (let i = 0; i < 50 && client.notified.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(client.notified, [{ monName: '127.0.0.1', state: 3 }], "alpha's statd is told, by the address alpha mounted us at");
  assert.equal(await lock(second.c, 'beta', fh), GRACE, 'a new lock waits for the grace period');
  const tested = (await second.c.call(100021, 4, 1, new XdrWriter().opaque(Buffer.from('t')).bool(true).string('beta').opaque(fh).opaque(Buffer.from('1@beta')).i32(1).u64(0n).u64(0n).toBuffer())).body;
  tested.opaque(1024);
  assert.equal(tested.u32(), GRACE, 'so does TEST');
  assert.equal(await lock(second.c, 'alpha', fh, true), GRANTED, 'the holder reclaims');
  await new Promise((r) => setTimeout(r, 1600));
  assert.equal(await lock(second.c, 'beta', fh), DENIED, 'after the grace period: alpha has it back');
  assert.equal(await lock(second.c, 'gamma', Buffer.from(fh)), DENIED);
  const now = JSON.parse(await readFile(join(stateDir, 'nlm-clients.json'), 'utf8')) as Array<{ name: string }>;
  assert.deepEqual(now.map((h) => h.name), ['alpha'], 'alpha is remembered again (it reclaimed); beta and gamma never held anything');
});

test('NLM: a blocked lock is granted when its range frees, and the waiter told by a GRANTED callback; a refused callback gives it back', async (t) => {
  const side = await fakeClientSide(t);
  const { c, fh } = await serverWithFile(t, side);
  assert.equal(await lock(c, 'alpha', fh), GRANTED);
  assert.equal(await lock(c, 'beta', fh, false, true, 10n, 5n), BLOCKED, 'beta waits');
  assert.equal(await lock(c, 'gamma', fh, false, true, 0n, 0n), BLOCKED, 'gamma waits for all of it');
  assert.deepEqual(side.granted, []);
  assert.equal(await unlock(c, 'alpha', fh), GRANTED);
  await until(() => side.granted.length > 0);
  assert.deepEqual(side.granted, [{ exclusive: true, svid: 1, offset: 10n, len: 5n }], 'the oldest waiter first; gamma still conflicts with beta');
  assert.equal(await lock(c, 'delta', fh, false, false, 12n, 1n), DENIED, 'beta holds its range now');

  // gamma's host no longer waits: it refuses the callback, and the lock goes back.
  side.grantAnswer = DENIED;
  assert.equal(await unlock(c, 'beta', fh), GRANTED);
  await until(() => side.granted.length > 1);
  assert.deepEqual(side.granted[1], { exclusive: true, svid: 1, offset: 0n, len: 0n }, 'gamma is offered all of it');
  let free = DENIED;
  for (let i = 0; i < 100 && free !== GRANTED; i++) {
    free = await lock(c, 'delta', fh, false, false, 0n, 1n);
    if (free !== GRANTED) await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(free, GRANTED, 'refused: gamma does not keep it');
});

test('NLM: a lock whose holder cannot be recorded on disk is refused (NOLOCKS); a blocked waiter is recorded before it can be granted', async (t) => {
  const stateDir = await mkdtemp(join(tmpdir(), 'cairn-nlm-state-'));
  const side = await fakeClientSide(t);
  const { c, fh } = await serverWithFile(t, side, stateDir);
  t.after(() => rm(stateDir, { recursive: true, force: true })); // after the server's stop, registered first
  const onDisk = async () => (JSON.parse(await readFile(join(stateDir, 'nlm-clients.json'), 'utf8')) as Array<{ name: string }>).map((h) => h.name);

  // The state directory becomes a file: every write under it fails (ENOTDIR), for root too.
  const aside = `${stateDir}.aside`;
  await rename(stateDir, aside);
  await writeFile(stateDir, 'not a directory');
  assert.equal(await lock(c, 'alpha', fh), NOLOCKS, 'a holder a restart could not tell is not granted');
  assert.equal(await lock(c, 'alpha', fh, false, true), NOLOCKS, 'nor queued');
  await rm(stateDir);
  await rename(aside, stateDir);
  assert.deepEqual(await onDisk(), [], 'nothing was recorded');

  assert.equal(await lock(c, 'alpha', fh), GRANTED, 'with the disk back, it is');
  assert.deepEqual(await onDisk(), ['alpha']);
  assert.equal(await lock(c, 'beta', fh, false, true), BLOCKED);
  assert.deepEqual(await onDisk(), ['alpha', 'beta'], 'the waiter is on disk before the callback can grant it');
  assert.equal(await lock(c, 'gamma', fh), DENIED);
  assert.deepEqual(await onDisk(), ['alpha', 'beta'], 'a plain refusal records nobody');
});
