/**
 * A fuzzer for the RPC/XDR decoding path: random records and mutations of
 * valid calls of every MOUNT and NFS procedure, fed straight to the
 * Dispatcher (no sockets, so it is fast), plus random byte streams through
 * the record-marking decoder. It checks what must hold for any input:
 * nothing throws, every call resolves promptly, every reply is a
 * well-formed RPC reply to the xid asked, memory stays bounded.
 * Seeded, so a failure can be replayed.
 */
import { randomBytes } from 'node:crypto';
import { MemoryBackend } from '../../../src/nfs/backend/memory/index.js';
import { HandleCodec } from '../../../src/nfs/backend/filehandle.js';
import { ExportTable } from '../../../src/nfs/exports.js';
import { mount3Program } from '../../../src/nfs/mount3/procedures.js';
import { nfs3Program } from '../../../src/nfs/nfs3/procedures.js';
import { BlockedLocks } from '../../../src/nfs/nlm4/blocked.js';
import { LockTable } from '../../../src/nfs/nlm4/locks.js';
import { NlmMonitor } from '../../../src/nfs/nlm4/monitor.js';
import { nsmProgram } from '../../../src/nfs/nlm4/nsm.js';
import { nlm4Program } from '../../../src/nfs/nlm4/procedures.js';
import { Dispatcher } from '../../../src/nfs/rpc/dispatch.js';
import type { Logger } from '../../../src/nfs/rpc/program.js';
import { RecordDecoder, RecordTooLargeError } from '../../../src/nfs/rpc/record.js';
import { XdrWriter } from '../../../src/nfs/xdr/writer.js';
import { encodeCall, parseReply } from './rpc-client.js';
import { quietLog } from './server.js';

/** xorshift32: small, seeded, good enough to pick mutations. */
export class Rng {
  constructor(private s: number) {
    if (this.s === 0) this.s = 1;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  int(n: number): number {
    return this.next() % n;
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.next() & 0xff;
    return b;
  }
}

export interface FuzzResult {
  inputs: number;
  replies: number;
  dropped: number;
  streams: number;
  maxHeapMiB: number;
  ms: number;
}

interface World {
  dispatcher: Dispatcher;
  corpus: Buffer[];
}

const sattr = (w: XdrWriter) => w.bool(true).u32(0o644).bool(false).bool(false).bool(true).u64(10n).u32(1).u32(2).u32(1).u32(2);

/** A dispatcher of every program the NFS port serves, as fuzzers use it: GRANTED callbacks go nowhere (port 1 refuses at once), never to a real portmapper. */
export function fuzzDispatcher(exports: ExportTable, codec: HandleCodec, log: Logger = quietLog): Dispatcher {
  const blocked = new BlockedLocks({ log, portmapperPort: 1 });
  return new Dispatcher([nfs3Program, mount3Program, nlm4Program, nsmProgram], { exports, codec, log, mounts: new Map(), locks: new LockTable(), monitor: new NlmMonitor({ log }), blocked });
}

/**
 * One record through the dispatcher: the reply's RPC message (record
 * marking checked and taken off), or undefined when none came. Throws if
 * no answer came within `deadlineMs`.
 */
export async function dispatchOnce(dispatcher: Dispatcher, rec: Buffer, client: { address: string; port: number }, deadlineMs: number): Promise<Buffer | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const reply = await Promise.race([
    dispatcher.handle(rec, client),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${deadlineMs} ms to ${rec.subarray(0, 200).toString('hex')}`)), deadlineMs))),
  ]).finally(() => clearTimeout(timer));
  if (!reply) return undefined;
  const bytes = Buffer.concat(reply as Buffer[]); // no lease given: never a FileChunk
  const len = bytes.readUInt32BE(0);
  if ((len & 0x7fffffff) !== bytes.length - 4 || !(len & 0x80000000)) throw new Error('bad record marking on a reply');
  return bytes.subarray(4);
}

async function makeWorld(): Promise<World> {
  const backend = new MemoryBackend();
  const exports = new ExportTable([{ path: '/export', backend, clients: [{ match: '*', squash: 'no_root_squash' }] }]);
  const codec = new HandleCodec(randomBytes(32));
  const dispatcher = fuzzDispatcher(exports, codec);
  const cred = { uid: 0, gid: 0, gids: [] };
  const rootB = await backend.root();
  const id = exports.byPath.get('/export')!.id;
  const root = codec.encode(id, rootB);
  const file = codec.encode(id, (await backend.create(cred, rootB, 'file', { mode: 'unchecked', attrs: {} })).handle);
  await backend.symlink(cred, rootB, 'link', 'file', {});
  const fh = (b: Buffer) => new XdrWriter().opaque(b);
  const dirop = (name: string) => fh(root).string(name);
  const nfs: Array<[number, XdrWriter]> = [
    [0, new XdrWriter()],
    [1, fh(file)],
    [2, sattr(fh(file)).bool(true).u32(1).u32(2)],
    [3, dirop('file')],
    [4, fh(file).u32(0x3f)],
    [5, fh(codec.encode(id, (await backend.lookup(cred, rootB, 'link')).handle))],
    [6, fh(file).u64(0n).u32(4096)],
    [7, fh(file).u64(3n).u32(5).u32(1).opaque(Buffer.from('hello'))],
    [8, sattr(dirop('new').u32(0))],
    [8, dirop('ex').u32(2).fixedOpaque(Buffer.alloc(8, 3))],
    [9, sattr(dirop('dir'))],
    [10, sattr(dirop('sym')).string('target')],
    [11, sattr(dirop('chr').u32(4)).u32(1).u32(3)],
    [11, sattr(dirop('fifo').u32(7))],
    [12, dirop('new')],
    [13, dirop('dir')],
    [14, dirop('file').opaque(root).string('moved')],
    [15, fh(file).opaque(root).string('hard')],
    [16, fh(root).u64(0n).fixedOpaque(Buffer.alloc(8)).u32(4096)],
    [17, fh(root).u64(0n).fixedOpaque(Buffer.alloc(8)).u32(1024).u32(8192)],
    [18, fh(root)],
    [19, fh(root)],
    [20, fh(root)],
    [21, fh(file).u64(0n).u32(0)],
  ];
  const corpus: Buffer[] = [];
  for (const [proc, args] of nfs) corpus.push(encodeCall(100003, 3, proc, args.toBuffer()).body);
  for (const [proc, args] of [[0, new XdrWriter()], [1, new XdrWriter().string('/export')], [2, new XdrWriter()], [3, new XdrWriter().string('/export')], [4, new XdrWriter()], [5, new XdrWriter()]] as Array<[number, XdrWriter]>) {
    corpus.push(encodeCall(100005, 3, proc, args.toBuffer()).body);
  }
  corpus.push(encodeCall(100003, 3, 1, fh(file).toBuffer(), { cred: { flavor: 'none' } }).body);
  // NLM v4 (TEST, LOCK, CANCEL, UNLOCK, FREE_ALL) and NSM SM_NOTIFY.
  const alock = (w: XdrWriter) => w.string('client').opaque(file).opaque(Buffer.from('7@client')).i32(7).u64(0n).u64(100n);
  const nlm: Array<[number, XdrWriter]> = [
    [0, new XdrWriter()],
    [1, alock(new XdrWriter().opaque(Buffer.from('c1')).bool(true))],
    [2, alock(new XdrWriter().opaque(Buffer.from('c2')).bool(false).bool(true)).bool(false).i32(1)],
    [3, alock(new XdrWriter().opaque(Buffer.from('c3')).bool(true).bool(true))],
    [4, alock(new XdrWriter().opaque(Buffer.from('c4')))],
    [23, new XdrWriter().string('client').i32(3)],
  ];
  for (const [proc, args] of nlm) corpus.push(encodeCall(100021, 4, proc, args.toBuffer()).body);
  corpus.push(encodeCall(100024, 1, 6, new XdrWriter().string('client').i32(5).toBuffer()).body);
  return { dispatcher, corpus };
}

function mutate(rng: Rng, base: Buffer): Buffer {
  const b = Buffer.from(base);
  const kind = rng.int(8);
  switch (kind) {
    case 0: {
      // Flip a few bits.
      for (let i = rng.int(4) + 1; i > 0; i--) b[rng.int(b.length)]! ^= 1 << rng.int(8);
      return b;
    }
    case 1:
      // Truncate.
      return b.subarray(0, rng.int(b.length + 1));
    case 2: {
      // Overwrite an aligned word with an interesting value (lengths, enums, counts).
      const words = [0, 1, 2, 3, 7, 64, 65, 255, 256, 1024, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 1 << 20, (1 << 20) + 1];
      if (b.length >= 4) b.writeUInt32BE(words[rng.int(words.length)]!, rng.int(b.length >> 2) << 2);
      return b;
    }
    case 3:
      // Append garbage.
      return Buffer.concat([b, rng.bytes(rng.int(64))]);
    case 4: {
      // Splice two halves from different positions.
      const cut = rng.int(b.length + 1);
      return Buffer.concat([b.subarray(0, cut), b.subarray(rng.int(b.length + 1))]);
    }
    case 5: {
      // Random bytes in a window.
      const at = rng.int(b.length + 1);
      rng.bytes(Math.min(8, b.length - at)).copy(b, at);
      return b;
    }
    case 6: {
      // Change program / version / procedure.
      if (b.length >= 24) {
        const at = 12 + 4 * rng.int(3);
        b.writeUInt32BE((rng.int(4) === 0 ? rng.next() : b.readUInt32BE(at) + rng.int(5) - 2) >>> 0, at);
      }
      return b;
    }
    default:
      return rng.bytes(rng.int(200));
  }
}

export async function fuzz(inputs: number, seed: number, onProgress?: (done: number) => void): Promise<FuzzResult> {
  const rng = new Rng(seed);
  const start = Date.now();
  let world = await makeWorld();
  let replies = 0;
  let dropped = 0;
  let maxHeap = 0;
  const client = { address: '127.0.0.1', port: 700 };
  const BATCH = 64;
  let nextReset = 0;
  for (let done = 0; done < inputs; ) {
    if (done >= nextReset) {
      nextReset += 20_000;
      // A fresh world now and then: bounded memory, and mutations of writes cannot pile up.
      world = await makeWorld();
      maxHeap = Math.max(maxHeap, process.memoryUsage().heapUsed);
      onProgress?.(done);
    }
    const batch: Array<Promise<void>> = [];
    for (let i = 0; i < BATCH && done < inputs; i++, done++) {
      const base = world.corpus[rng.int(world.corpus.length)]!;
      const rec = rng.int(10) === 0 ? rng.bytes(rng.int(100)) : mutate(rng, base);
      batch.push(
        check(world.dispatcher, rec, client).then((r) => {
          if (r) replies++;
          else dropped++;
        }),
      );
    }
    await Promise.all(batch);
  }
  // Random streams through record marking.
  let streams = 0;
  for (let i = 0; i < Math.max(10, inputs / 100); i++) {
    const d = new RecordDecoder(1 << 16, () => undefined);
    // Well-formed fragment headers of small (also zero) lengths mixed with noise, cut anywhere.
    const parts: Buffer[] = [];
    for (let k = rng.int(12); k >= 0; k--) {
      if (rng.int(6) === 0) parts.push(rng.bytes(rng.int(40)));
      else {
        const len = rng.int(3) === 0 ? 0 : rng.int(24);
        const h = Buffer.alloc(4);
        h.writeUInt32BE(((rng.int(2) ? 0x80000000 : 0) | len) >>> 0);
        parts.push(h, rng.bytes(len));
      }
    }
    const stream = Buffer.concat(parts);
    try {
      for (let at = 0; at < stream.length; ) {
        const n = 1 + rng.int(16);
        d.push(stream.subarray(at, at + n));
        at += n;
      }
    } catch (e) {
      if (!(e instanceof RecordTooLargeError)) throw e;
    }
    if (d.buffered > (1 << 16) + stream.length) throw new Error('record decoder holds more than its limit');
    streams++;
  }
  maxHeap = Math.max(maxHeap, process.memoryUsage().heapUsed);
  return { inputs, replies, dropped, streams, maxHeapMiB: Math.round(maxHeap / 1048576), ms: Date.now() - start };
}

async function check(dispatcher: Dispatcher, rec: Buffer, client: { address: string; port: number }): Promise<boolean> {
  const reply = await dispatchOnce(dispatcher, rec, client, 2000);
  if (!reply) {
    // Only non-calls may go unanswered.
    if (rec.length >= 8 && rec.readUInt32BE(4) === 0) throw new Error(`a CALL went unanswered: ${rec.toString('hex')}`);
    return false;
  }
  const rep = parseReply(reply);
  if (rep.xid !== rec.readUInt32BE(0)) throw new Error('reply to the wrong xid');
  return true;
}
