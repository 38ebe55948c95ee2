/**
 * NLM across a restart of the server (nlm4/monitor.ts): a host that held
 * a lock is on disk; the restarted server bumps its NSM state, tells that
 * host's statd (SM_NOTIFY, through the host's portmapper, both played
 * here by a small RPC server), and for its grace period grants only
 * reclaims — a new lock or a TEST waits (NLM4_DENIED_GRACE_PERIOD), so the
 * old holder gets its lock back before anyone else can take it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBackend } from '../../src/nfs/backend/memory/index.js';
import { HandleCodec } from '../../src/nfs/backend/filehandle.js';
import { ExportTable } from '../../src/nfs/exports.js';
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
const GRACE = 4;

/** A lock client's portmapper (GETPORT answers the statd's port) and statd (records SM_NOTIFY), on one port. */
async function fakeClientSide(t: import('node:test').TestContext) {
  const notified: Array<{ monName: string; state: number }> = [];
  let port = 0;
  const getport: ProcEntry<void, number> = {
    name: 'PMAPPROC_GETPORT',
    flags: 0,
    decode: (r) => void r.fixedOpaque(16),
    handler: async () => port,
    encode: (w, p) => void w.u32(p),
  };
  const notify: ProcEntry<{ monName: string; state: number }, void> = {
    name: 'SM_NOTIFY',
    flags: 0,
    decode: (r) => ({ monName: r.string(1024), state: r.i32() }),
    handler: async (_ctx, a) => void notified.push(a),
    encode: () => undefined,
  };
  const programs = [
    { name: 'portmapper', prog: 100000, versions: new Map([[2, [undefined, undefined, undefined, getport] as unknown as ProcEntry[]]]) },
    { name: 'status', prog: 100024, versions: new Map([[1, [undefined, undefined, undefined, undefined, undefined, undefined, notify] as unknown as ProcEntry[]]]) },
  ];
  const state = { exports: new ExportTable([]), codec: new HandleCodec(randomBytes(32)), log: quietLog, mounts: new Map(), locks: new LockTable(), monitor: new NlmMonitor({ log: quietLog }) };
  const server = createRpcServer(new Dispatcher(programs, state), quietLog);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return { port, notified };
}

function lockArgs(host: string, fh: Buffer, reclaim: boolean): Buffer {
  return new XdrWriter().opaque(Buffer.from('c')).bool(false).bool(true)
    .string(host).opaque(fh).opaque(Buffer.from(`1@${host}`)).i32(1).u64(0n).u64(0n)
    .bool(reclaim).i32(1).toBuffer();
}

async function lock(c: RpcClient, host: string, fh: Buffer, reclaim = false): Promise<number> {
  const r = (await c.call(100021, 4, 2, lockArgs(host, fh, reclaim))).body;
  r.opaque(1024);
  return r.u32();
}

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
