/**
 * NLM v4 and NSM SM_NOTIFY over raw RPC, on the NFS port of an in-process
 * server: what a Linux client's lockd sends for fcntl locks (TEST, LOCK
 * blocking and not, UNLOCK, CANCEL, FREE_ALL), the status codes it maps
 * to errnos, the holder TEST reports, handle and export checks, and a
 * rebooted client's locks going on SM_NOTIFY.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { XdrWriter } from '../../src/nfs/xdr/writer.js';
import type { XdrReader } from '../../src/nfs/xdr/reader.js';
import { RpcClient, sattr, dirop } from './helpers/rpc-client.js';
import { startTestServer } from './helpers/server.js';

const NLM = 100021;
const NSM = 100024;
const GRANTED = 0;
const DENIED = 1;
const BLOCKED = 3;
const STALE_FH = 7;
const FBIG = 8;
const FAILED = 9;

interface Who {
  host: string;
  svid: number;
}

function alock(w: XdrWriter, who: Who, fh: Buffer, offset: bigint, len: bigint): XdrWriter {
  return w.string(who.host).opaque(fh).opaque(Buffer.from(`${who.svid}@${who.host}`)).i32(who.svid).u64(offset).u64(len);
}

class Nlm {
  private n = 0;
  constructor(readonly c: RpcClient) {}

  private async call(proc: number, args: XdrWriter): Promise<XdrReader> {
    const rep = await this.c.call(NLM, 4, proc, args.toBuffer());
    assert.equal(rep.acceptStat, 0, `NLM proc ${proc} accepted`);
    return rep.body;
  }

  /** Sends a call with a fresh cookie; returns the status after checking the cookie came back. */
  private async res(proc: number, build: (w: XdrWriter) => XdrWriter): Promise<{ stat: number; r: XdrReader }> {
    const cookie = Buffer.from(`cookie-${++this.n}`);
    const r = await this.call(proc, build(new XdrWriter().opaque(cookie)));
    assert.deepEqual(Buffer.from(r.opaque(1024)), cookie, 'the cookie is echoed');
    return { stat: r.u32(), r };
  }

  async lock(who: Who, fh: Buffer, exclusive: boolean, offset: bigint, len: bigint, block = false): Promise<number> {
    return (await this.res(2, (w) => alock(w.bool(block).bool(exclusive), who, fh, offset, len).bool(false).i32(1))).stat;
  }

  async unlock(who: Who, fh: Buffer, offset: bigint, len: bigint): Promise<number> {
    return (await this.res(4, (w) => alock(w, who, fh, offset, len))).stat;
  }

  async cancel(who: Who, fh: Buffer, offset: bigint, len: bigint): Promise<number> {
    return (await this.res(3, (w) => alock(w.bool(true).bool(true), who, fh, offset, len))).stat;
  }

  async test(who: Who, fh: Buffer, exclusive: boolean, offset: bigint, len: bigint) {
    const { stat, r } = await this.res(1, (w) => alock(w.bool(exclusive), who, fh, offset, len));
    if (stat !== DENIED) return { stat };
    return { stat, holder: { exclusive: r.bool(), svid: r.i32(), oh: Buffer.from(r.opaque(1024)).toString(), offset: r.u64(), len: r.u64() } };
  }

  async freeAll(host: string): Promise<void> {
    const r = await this.call(23, new XdrWriter().string(host).i32(3));
    assert.equal(r.remaining, 0, 'FREE_ALL answers void');
  }
}

async function setup(t: TestContext) {
  const s = await startTestServer(t);
  const c = await RpcClient.connect(s.port);
  t.after(() => c.close());
  const { fh: root } = await c.mount('/export');
  const make = async (name: string) => {
    const r = await c.nfs(8, sattr(dirop(root!, name).u32(0)));
    assert.equal(r.u32(), 0);
    assert.equal(r.bool(), true);
    return Buffer.from(r.opaque(64));
  };
  return { s, c, root: root!, make, nlm: new Nlm(c) };
}

const alpha: Who = { host: 'alpha', svid: 101 };
const beta: Who = { host: 'beta', svid: 202 };

test('NLM: locks conflict across hosts; TEST names the holder; blocking requests are BLOCKED; UNLOCK frees', async (t) => {
  const { s, make, nlm } = await setup(t);
  const f = await make('disk.img');
  const g = await make('other.img');

  assert.equal(await nlm.lock(alpha, f, true, 0n, 100n), GRANTED, 'write lock');
  assert.equal(await nlm.lock(alpha, f, true, 0n, 100n), GRANTED, 'a retransmission is granted again');
  assert.equal(await nlm.lock(beta, f, false, 50n, 10n), DENIED, 'a read lock over it, not blocking: DENIED (EAGAIN)');
  assert.equal(await nlm.lock(beta, f, true, 99n, 1n, true), BLOCKED, 'blocking: BLOCKED, the client polls');
  assert.equal(await nlm.cancel(beta, f, 99n, 1n), GRANTED, 'CANCEL of the blocked request');
  assert.equal(await nlm.lock(beta, f, true, 100n, 0n), GRANTED, 'the rest of the file, to its end');
  assert.equal(await nlm.lock(beta, g, true, 0n, 0n), GRANTED, 'another file is another lock space');

  const tested = await nlm.test(beta, f, false, 10n, 1n);
  assert.deepEqual(tested, { stat: DENIED, holder: { exclusive: true, svid: 101, oh: '101@alpha', offset: 0n, len: 100n } });
  assert.deepEqual(await nlm.test(alpha, f, true, 0n, 100n), { stat: GRANTED }, 'its own lock does not conflict');
  const toEnd = await nlm.test(alpha, f, false, 1n << 40n, 1n);
  assert.equal(toEnd.holder?.len, 0n, 'a lock to the end reports l_len 0');

  assert.equal(await nlm.unlock(alpha, f, 0n, 50n), GRANTED);
  assert.equal(await nlm.lock(beta, f, false, 0n, 50n), GRANTED, 'the unlocked half is free');
  assert.equal(await nlm.lock(beta, f, false, 50n, 1n), DENIED, 'the other half is still held');
  assert.equal(await nlm.unlock({ host: 'alpha', svid: 999 }, f, 0n, 0n), GRANTED, 'another process unlocks nothing of alpha/101');
  assert.equal(await nlm.lock(beta, f, false, 50n, 1n), DENIED);
  assert.equal(await nlm.unlock(alpha, f, 0n, 0n), GRANTED, 'unlock to the end');
  assert.equal(await nlm.lock(beta, f, true, 0n, 100n), GRANTED, 'now all free for beta');
  assert.equal(s.server.stats.locks, 2, 'beta holds [0, END) merged on disk.img and all of other.img');

  assert.equal(await nlm.lock(alpha, f, true, (1n << 64n) - 10n, 11n), FBIG, 'a range past 2^64');
  assert.equal(await nlm.test(alpha, f, true, (1n << 64n) - 1n, 2n).then((r) => r.stat), FBIG);
});

test('NLM: FREE_ALL and SM_NOTIFY drop a rebooted host\'s locks, and only its', async (t) => {
  const { s, c, make, nlm } = await setup(t);
  const f = await make('f');
  assert.equal(await nlm.lock(alpha, f, true, 0n, 10n), GRANTED);
  assert.equal(await nlm.lock({ host: 'alpha', svid: 7 }, f, true, 10n, 10n), GRANTED);
  assert.equal(await nlm.lock(beta, f, true, 20n, 10n), GRANTED);
  await nlm.freeAll('alpha');
  assert.equal(await nlm.lock(beta, f, true, 0n, 20n), GRANTED, 'both of alpha\'s processes lost their locks');
  assert.equal(s.server.stats.locks, 1, 'beta\'s two ranges merged');

  assert.equal(await nlm.lock(alpha, f, true, 100n, 1n), GRANTED);
  const rep = await c.call(NSM, 1, 6, new XdrWriter().string('beta').i32(9).toBuffer());
  assert.equal(rep.acceptStat, 0, 'SM_NOTIFY accepted');
  assert.equal(await nlm.lock(alpha, f, true, 0n, 30n), GRANTED, 'beta rebooted: its locks are gone');
  assert.equal(s.server.stats.locks, 2, 'alpha\'s two ranges, nothing of beta\'s');
  assert.equal((await c.call(NSM, 1, 0)).acceptStat, 0, 'SM_NULL');
  assert.equal((await c.call(NSM, 1, 2, new XdrWriter().string('x').toBuffer())).acceptStat, 3, 'SM_MON is for local callers: PROC_UNAVAIL');
});

test('NLM: handles are checked like NFS handles; a client outside the export list is refused; other versions and procedures', async (t) => {
  const { s, c, root, make, nlm } = await setup(t);
  const f = await make('gone');
  assert.equal(await nlm.lock(alpha, f, true, 0n, 1n), GRANTED);
  const rm = await c.nfs(12, dirop(root, 'gone'));
  assert.equal(rm.u32(), 0, 'removed');
  assert.equal(await nlm.lock(beta, f, true, 0n, 1n), STALE_FH, 'the file is gone');
  assert.equal(await nlm.unlock(alpha, f, 0n, 0n), GRANTED, 'its locks may still be released');
  const forged = Buffer.from(f);
  forged[forged.length - 1]! ^= 1;
  assert.equal(await nlm.lock(alpha, forged, true, 0n, 1n), STALE_FH, 'a forged handle');
  assert.equal(await nlm.lock(alpha, Buffer.alloc(3), true, 0n, 1n), STALE_FH, 'a handle of the wrong shape');

  const kept = await make('kept');
  s.server.setExports([{ path: '/export', backend: s.backend, clients: [{ match: '10.0.0.0/8' }] }]);
  assert.equal(await nlm.lock(alpha, kept, true, 0n, 1n), FAILED, 'a client outside the export list');

  const v1 = await c.call(NLM, 1, 2, Buffer.alloc(0));
  assert.deepEqual([v1.acceptStat, v1.low, v1.high], [2, 4, 4], 'PROG_MISMATCH: NLM v4 only');
  assert.equal((await c.call(NLM, 4, 20, Buffer.alloc(0))).acceptStat, 3, 'SHARE: PROC_UNAVAIL');
  assert.equal((await c.call(NLM, 4, 7, Buffer.alloc(0))).acceptStat, 3, 'LOCK_MSG: PROC_UNAVAIL');
  assert.equal((await c.call(NLM, 4, 2, Buffer.from([0, 0, 0, 9, 1]))).acceptStat, 4, 'GARBAGE_ARGS');
  assert.equal((await c.call(NLM, 4, 0)).acceptStat, 0, 'NULL');
});
