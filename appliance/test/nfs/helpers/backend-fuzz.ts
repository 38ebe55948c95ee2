/**
 * A stateful fuzzer for the NFS server over a real backend (posix, gfapi):
 * well-formed calls of every NFSv3 procedure and of NLM, built from the
 * handles the backend really has (learned by LOOKUPs as the tree changes),
 * mutated handles, and argument values picked for the edges — names `.`,
 * `..`, `a/b`, NUL, 255/256/1100 bytes, invalid UTF-8; offsets and sizes
 * at 2^31, 2^32, 2^63, 2^64-1; counts 0 to 2^32-1; nanoseconds past 10^9;
 * every create mode, file type and stable level; as root, as users and
 * with AUTH_NONE. Where the byte fuzzer (fuzz.ts) mostly meets the XDR
 * decoder, this one reaches the backend and its native code.
 *
 * It checks what must hold for any call: an answer within the deadline,
 * a well-formed reply to the xid asked, an nfsstat3 that exists, READ and
 * WRITE of anything but a regular file refused, no error the server could
 * not map (a thrown TypeError is a bug, not an NFS3ERR_IO), and whatever
 * `verify` of the world adds (the posix world: nothing outside the export
 * changed; no fd leaked). Seeded, so a failure can be replayed.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend, Cred, FileType } from '../../../src/nfs/backend/backend.js';
import { nameOf } from '../../../src/nfs/backend/backend.js';
import { openPosixBackend } from '../../../src/nfs/backend/posix/index.js';
import { HandleCodec } from '../../../src/nfs/backend/filehandle.js';
import { ExportTable } from '../../../src/nfs/exports.js';
import { NfsServer } from '../../../src/nfs/server.js';
import { XdrWriter } from '../../../src/nfs/xdr/writer.js';
import { dispatchOnce, fuzzDispatcher, Rng } from './fuzz.js';
import { type CallOptions, encodeCall, frame, parseReply, readPostOpAttr, RpcClient } from './rpc-client.js';
import { quietLog } from './server.js';

/** A backend to fuzz, with the checks its kind allows. */
export interface FuzzWorld {
  backend: Backend;
  /** Throws if an invariant of the world broke (called after every round and at the end). */
  verify?: () => Promise<void>;
  close(): Promise<void>;
}

export interface BackendFuzzResult {
  inputs: number;
  /** How many replies carried each nfsstat3 (NFS) or stat (NLM), by name of procedure. */
  statuses: Record<string, Record<number, number>>;
  /** OS errors the server had no nfsstat3 for (answered NFS3ERR_IO). */
  unmappedOs: string[];
  /** The first calls answered NFS3ERR_IO: procedure and arguments (hex), to replay. */
  io: string[];
  /** The call that took longest to be answered. */
  slowest: { ms: number; call: string };
  handles: number;
  ms: number;
}

const NFSSTAT3 = new Set([0, 1, 2, 5, 6, 13, 17, 18, 19, 20, 21, 22, 27, 28, 30, 31, 63, 66, 69, 70, 71, 10001, 10002, 10003, 10004, 10005, 10006, 10007, 10008]);
const NFS_PROCS = ['NULL', 'GETATTR', 'SETATTR', 'LOOKUP', 'ACCESS', 'READLINK', 'READ', 'WRITE', 'CREATE', 'MKDIR', 'SYMLINK', 'MKNOD', 'REMOVE', 'RMDIR', 'RENAME', 'LINK', 'READDIR', 'READDIRPLUS', 'FSSTAT', 'FSINFO', 'PATHCONF', 'COMMIT'];
/** Names the tree is made of (so calls meet each other's objects) and names at the edges. */
const COMMON = ['a', 'b', 'c', 'sub', 'd'].map((s) => Buffer.from(s));
const EDGE = [
  '.',
  '..',
  '',
  'a/b',
  '/',
  'x'.repeat(255),
  'x'.repeat(256),
  'y'.repeat(1100),
  'nul\0x',
  '\u00e9t\u00e9',
  '.glusterfs',
  '.snap',
].map((s) => Buffer.from(s));
EDGE.push(Buffer.from([0xff, 0xfe, 0x41]), Buffer.from([0xc3]));
const TARGETS = ['a', 'sub/a', '../../outside/secret', '/etc/passwd', '', '.', 'z'.repeat(1100), '../'.repeat(40)].map((s) => Buffer.from(s));
const OFFSETS = [0n, 1n, 4095n, 4096n, 1n << 20n, (1n << 31n) - 1n, 1n << 31n, 1n << 32n, 1n << 40n, (1n << 63n) - 1n, 1n << 63n, (1n << 64n) - 1n];
const COUNTS = [0, 1, 17, 4096, 65536, 1 << 20, (1 << 20) + 1, 1 << 24, 0x7fffffff, 0xffffffff];
const MODES = [0o644, 0o755, 0o777, 0o000, 0o4755, 0o2775, 0o1777, 0o7777, 0o170777, 0xffffffff];
const IDS = [0, 1, 1000, 2000, 65534, 0xfffffffe, 0xffffffff];
const CREDS: Array<CallOptions['cred']> = [
  { flavor: 'sys', uid: 0, gid: 0 },
  { flavor: 'sys', uid: 0, gid: 0 },
  { flavor: 'sys', uid: 1000, gid: 1000, gids: [1000, 2000] },
  { flavor: 'sys', uid: 2000, gid: 2000 },
  { flavor: 'sys', uid: 65534, gid: 65534 },
  { flavor: 'none' },
];
const ROOT: Cred = { uid: 0, gid: 0, gids: [] };

interface Known {
  wire: Buffer;
  type: FileType;
}

class Generator {
  /** Wire handles the backend gave, by hex; stale ones stay (they test ESTALE). */
  readonly known = new Map<string, Known>();
  constructor(readonly rng: Rng) {}

  pick<T>(xs: readonly T[]): T {
    return xs[this.rng.int(xs.length)]!;
  }
  private knownOf(pred: (k: Known) => boolean): Known | undefined {
    const xs = [...this.known.values()].filter(pred);
    return xs.length ? this.pick(xs) : undefined;
  }
  /** A handle: mostly one the backend gave (of the wanted type when asked), sometimes a damaged one. */
  fh(want?: FileType): Buffer {
    const r = this.rng.int(20);
    const k = (want && r < 14 ? this.knownOf((x) => x.type === want) : undefined) ?? this.knownOf(() => true)!;
    if (r < 18) return k.wire;
    const b = Buffer.from(k.wire);
    switch (this.rng.int(4)) {
      case 0:
        b[this.rng.int(b.length)]! ^= 1 << this.rng.int(8);
        return b;
      case 1:
        return b.subarray(0, this.rng.int(b.length));
      case 2:
        return Buffer.concat([b, this.rng.bytes(1 + this.rng.int(8))]).subarray(0, 64);
      default:
        return this.rng.bytes(this.rng.int(65));
    }
  }
  name(): Buffer {
    return this.rng.int(5) === 0 ? this.pick(EDGE) : this.pick(COMMON);
  }
  offset(): bigint {
    return this.rng.int(3) === 0 ? this.pick(OFFSETS) : BigInt(this.rng.int(1 << 16));
  }
  count(): number {
    return this.rng.int(3) === 0 ? this.pick(COUNTS) : this.rng.int(1 << 16);
  }
  time(w: XdrWriter): XdrWriter {
    return w.u32(this.rng.int(4) === 0 ? 0xffffffff : this.rng.next()).u32(this.rng.int(4) === 0 ? 1_000_000_000 + this.rng.int(4) : this.rng.int(1_000_000_000));
  }
  sattr(w: XdrWriter): XdrWriter {
    const on = () => this.rng.int(3) === 0;
    if (on()) w.bool(true).u32(this.pick(MODES));
    else w.bool(false);
    if (on()) w.bool(true).u32(this.pick(IDS));
    else w.bool(false);
    if (on()) w.bool(true).u32(this.pick(IDS));
    else w.bool(false);
    if (on()) w.bool(true).u64(this.offset());
    else w.bool(false);
    for (let i = 0; i < 2; i++) {
      const how = this.rng.int(3);
      w.u32(how);
      if (how === 2) this.time(w);
    }
    return w;
  }
  dirop(w: XdrWriter): XdrWriter {
    return w.opaque(this.fh('dir')).string(this.name());
  }

  /** One call: [program, version, procedure, arguments]. */
  call(): [number, number, number, Buffer] {
    if (this.rng.int(25) === 0) return this.nlm();
    const proc = this.rng.int(22);
    const w = new XdrWriter();
    switch (proc) {
      case 0:
        break;
      case 2:
        this.sattr(w.opaque(this.fh()));
        if (this.rng.int(4) === 0) this.time(w.bool(true));
        else w.bool(false);
        break;
      case 3:
      case 12:
      case 13:
        this.dirop(w);
        break;
      case 4:
        w.opaque(this.fh()).u32(this.rng.int(3) === 0 ? this.rng.next() : 0x3f);
        break;
      case 6:
        w.opaque(this.fh('reg')).u64(this.offset()).u32(this.count());
        break;
      case 7: {
        const len = this.rng.int(8) === 0 ? this.rng.int(1 << 17) : this.rng.int(8192);
        const stated = this.rng.int(10) === 0 ? this.count() : len;
        w.opaque(this.fh('reg')).u64(this.offset()).u32(stated).u32(this.rng.int(10) === 0 ? this.rng.int(7) : this.rng.int(3));
        w.opaque(len > 4096 ? Buffer.alloc(len, this.rng.int(256)) : this.rng.bytes(len));
        break;
      }
      case 8: {
        this.dirop(w);
        const mode = this.rng.int(10) === 0 ? this.rng.int(6) : this.rng.int(3);
        w.u32(mode);
        if (mode === 2) w.raw(this.rng.int(2) ? Buffer.alloc(8, this.rng.int(4)) : this.rng.bytes(8));
        else if (mode < 2) this.sattr(w);
        break;
      }
      case 9:
        this.sattr(this.dirop(w));
        break;
      case 10:
        this.sattr(this.dirop(w)).string(this.pick(TARGETS));
        break;
      case 11: {
        const type = 1 + this.rng.int(this.rng.int(6) === 0 ? 9 : 7);
        this.dirop(w).u32(type);
        // Devices: only /dev/null, /dev/zero and a major no driver has,
        // so that a server that wrongly writes through a node hurts nothing.
        if (type === 3 || type === 4) this.sattr(w).u32(this.pick([1, 250])).u32(this.pick([3, 5, 250]));
        else if (type === 6 || type === 7) this.sattr(w);
        break;
      }
      case 14:
        this.dirop(this.dirop(w));
        break;
      case 15:
        this.dirop(w.opaque(this.fh()));
        break;
      case 16:
      case 17: {
        w.opaque(this.fh('dir')).u64(this.rng.int(3) === 0 ? this.offset() : BigInt(this.rng.int(16)));
        w.raw(this.rng.int(3) === 0 ? this.rng.bytes(8) : Buffer.alloc(8));
        w.u32(this.count());
        if (proc === 17) w.u32(this.count());
        break;
      }
      case 21:
        w.opaque(this.fh('reg')).u64(this.offset()).u32(this.count());
        break;
      default:
        // GETATTR, READLINK, FSSTAT, FSINFO, PATHCONF: a handle.
        w.opaque(this.fh(proc === 5 ? 'lnk' : undefined));
    }
    return [100003, 3, proc, w.toBuffer()];
  }

  /** NLM v4 TEST, LOCK, CANCEL, UNLOCK on the files there are. */
  private nlm(): [number, number, number, Buffer] {
    const proc = 1 + this.rng.int(4);
    const w = new XdrWriter().opaque(Buffer.from([this.rng.int(4)]));
    if (proc === 2 || proc === 3) w.bool(this.rng.int(2) === 0);
    if (proc !== 4) w.bool(this.rng.int(2) === 0);
    w.string('fuzzhost').opaque(this.fh('reg')).opaque(Buffer.from([this.rng.int(3)])).i32(this.rng.int(3)).u64(this.offset()).u64(this.offset());
    if (proc === 2) w.bool(false).i32(1);
    return [100021, 4, proc, w.toBuffer()];
  }
}

async function learn(gen: Generator, backend: Backend, codec: HandleCodec, exportId: number): Promise<void> {
  const root = await backend.root();
  const dirs: Buffer[] = [root];
  const rootWire = codec.encode(exportId, root);
  gen.known.set(rootWire.toString('hex'), { wire: rootWire, type: 'dir' });
  for (let i = 0; i < dirs.length && i < 12; i++) {
    for (const n of COMMON) {
      const e = await backend.lookup(ROOT, dirs[i]!, nameOf(n)).catch(() => undefined);
      if (!e) continue;
      const wire = codec.encode(exportId, e.handle);
      gen.known.set(wire.toString('hex'), { wire, type: e.attrs.type });
      if (e.attrs.type === 'dir') dirs.push(e.handle);
    }
  }
  // Bounded: forget a random part of what went stale long ago.
  while (gen.known.size > 96) gen.known.delete([...gen.known.keys()][1 + gen.rng.int(gen.known.size - 1)]!);
}

/**
 * Sets up the tree the first calls meet: a directory, files, a symlink, a
 * FIFO. On a volume an earlier run left behind, what is there stays.
 */
async function seed(backend: Backend): Promise<void> {
  const root = await backend.root();
  const n = (s: string) => nameOf(Buffer.from(s));
  const there = (e: unknown) => {
    if (!['EEXIST', 'ENOTDIR'].includes((e as { code?: string }).code ?? '')) throw e;
  };
  const sub = await backend.mkdir(ROOT, root, n('sub'), { mode: 0o777 }).catch(async (e) => (there(e), backend.lookup(ROOT, root, n('sub'))));
  const a = await backend.create(ROOT, root, n('a'), { mode: 'unchecked', attrs: { mode: 0o666 } }).catch(there);
  if (a) await backend.write(ROOT, a.handle, 0n, randomBytes(10_000), 'file_sync');
  await backend.create(ROOT, sub.handle, n('b'), { mode: 'unchecked', attrs: { mode: 0o600 } }).catch(there);
  await backend.symlink(ROOT, root, n('c'), n('../outside'), {}).catch(there);
  await backend.mknod(ROOT, sub.handle, n('d'), 'fifo', { mode: 0o666 }).catch(there);
}

export async function fuzzBackend(
  open: () => Promise<FuzzWorld>,
  opts: {
    inputs: number;
    seed: number;
    rounds?: number;
    concurrency?: number;
    /** A call not answered in this long hangs (default 60 s: a busy disk makes a COMMIT slow, not wrong). */
    deadlineMs?: number;
    /** Through a real NfsServer over this many TCP connections (its transport, READ's sendfile path), not to the dispatcher. */
    tcp?: number;
    onProgress?: (done: number) => void;
  },
): Promise<BackendFuzzResult> {
  const rng = new Rng(opts.seed);
  const gen = new Generator(rng);
  const start = Date.now();
  const statuses: Record<string, Record<number, number>> = {};
  const unmappedOs = new Set<string>();
  const bugs: string[] = [];
  const io: string[] = [];
  const rounds = opts.rounds ?? 1;
  const per = Math.ceil(opts.inputs / rounds);
  const client = { address: '127.0.0.1', port: 700 };
  const deadlineMs = opts.deadlineMs ?? 60_000;
  let slowest = { ms: 0, call: '' };
  const stops: Array<() => Promise<void>> = [];
  let done = 0;
  for (let round = 0; round < rounds && done < opts.inputs; round++) {
    const world = await open();
    try {
      await seed(world.backend);
      const spec = { path: '/export', backend: world.backend, clients: [{ match: '*', squash: 'no_root_squash' as const }] };
      const exports = new ExportTable([spec]);
      const secret = randomBytes(32);
      const codec = new HandleCodec(secret);
      const exportId = exports.byPath.get('/export')!.id;
      const log = {
        ...quietLog,
        // The server closing a connection is never an answer to a call (its other calls would hang).
        error(o: unknown, msg?: string) {
          const { err } = (o ?? {}) as { err?: { stack?: string } };
          bugs.push(`server error: ${msg}: ${err?.stack ?? JSON.stringify(o)}`);
        },
        warn(o: unknown, msg?: string) {
          if (msg === 'RPC connection closed by the server') bugs.push(`${msg}: ${JSON.stringify(o)}`);
          if (msg !== 'unmapped backend error') return;
          const { err, proc } = o as { err: { code?: unknown; stack?: string; message?: string }; proc: string };
          if (typeof err?.code === 'string' && err.code.startsWith('E')) unmappedOs.add(`${proc}: ${err.code}`);
          else bugs.push(`${proc}: ${err?.stack ?? String(err)}`);
        },
      };
      const dispatcher = fuzzDispatcher(exports, codec, log);
      let send = async (body: Buffer, _xid: number) => {
        const reply = await dispatchOnce(dispatcher, body, client, deadlineMs);
        if (!reply) throw new Error(`a call went unanswered: ${body.subarray(0, 200).toString('hex')}`);
        return reply;
      };
      if (opts.tcp) {
        const server = new NfsServer({ handleSecret: secret, log, exports: [spec] });
        const { port } = await server.start({ host: '127.0.0.1', port: 0 });
        const conns = await Promise.all(Array.from({ length: opts.tcp }, () => RpcClient.connect(port)));
        stops.push(async () => {
          for (const c of conns) c.close();
          await server.stop();
        });
        let next = 0;
        send = async (body, xid) => {
          const c = conns[next++ % conns.length]!;
          c.write(frame(body));
          return (await c.reply(xid, deadlineMs)).raw;
        };
      }
      gen.known.clear();
      await learn(gen, world.backend, codec, exportId);
      const end = Math.min(opts.inputs, done + per);
      while (done < end) {
        const batch: Array<Promise<void>> = [];
        for (let i = 0; i < (opts.concurrency ?? 16) && done < end; i++, done++) {
          const [prog, vers, proc, args] = gen.call();
          const cred = gen.pick(CREDS);
          const { xid, body } = encodeCall(prog, vers, proc, args, { cred });
          const t0 = Date.now();
          const label = () => `${prog === 100003 ? NFS_PROCS[proc] : `NLM ${proc}`} ${args.subarray(0, 160).toString('hex')}`;
          batch.push(
            send(body, xid).then(
              (raw) => {
                if (Date.now() - t0 > slowest.ms) slowest = { ms: Date.now() - t0, call: label() };
                judge(raw, xid, prog, proc, args, gen, statuses, bugs, io);
              },
              (e: Error) => {
                throw new Error(`${label()}: ${e.message}${bugs.length ? `; meanwhile: ${bugs.slice(0, 3).join('; ')}` : ''}`);
              },
            ),
          );
        }
        await Promise.all(batch);
        if (bugs.length) throw new Error(`seed ${opts.seed}:\n${bugs.slice(0, 5).join('\n')}`);
        if (done % 512 < (opts.concurrency ?? 16)) await learn(gen, world.backend, codec, exportId);
        if (done % 4096 < (opts.concurrency ?? 16)) opts.onProgress?.(done);
      }
      for (const stop of stops.splice(0)) await stop();
      await world.verify?.();
    } finally {
      for (const stop of stops.splice(0)) await stop().catch(() => undefined);
      await world.close();
    }
  }
  return { inputs: done, statuses, unmappedOs: [...unmappedOs].sort(), io, slowest, handles: gen.known.size, ms: Date.now() - start };
}

function judge(raw: Buffer, xid: number, prog: number, proc: number, args: Buffer, gen: Generator, statuses: BackendFuzzResult['statuses'], bugs: string[], io: string[]): void {
  const rep = parseReply(raw);
  if (rep.xid !== xid) throw new Error('reply to the wrong xid');
  if (!rep.accepted) {
    // AUTH_NONE meets AUTH_ERROR on NFS: that is the answer.
    (statuses.denied ??= {})[rep.authStat ?? -1] = (statuses.denied[rep.authStat ?? -1] ?? 0) + 1;
    return;
  }
  const name = prog === 100003 ? NFS_PROCS[proc]! : `NLM${proc}`;
  if (rep.acceptStat !== 0) {
    // Well-formed arguments are never GARBAGE_ARGS, but names and data past the limits may be.
    (statuses[name] ??= {})[-rep.acceptStat!] = (statuses[name][-rep.acceptStat!] ?? 0) + 1;
    if (rep.acceptStat !== 4) bugs.push(`${name}: accept_stat ${rep.acceptStat}`);
    return;
  }
  if (proc === 0) return;
  if (prog !== 100003) rep.body.opaque(1024); // NLM: the cookie comes first
  const stat = rep.body.u32();
  (statuses[name] ??= {})[stat] = (statuses[name][stat] ?? 0) + 1;
  if (prog !== 100003) return;
  if (!NFSSTAT3.has(stat)) bugs.push(`${name}: nfsstat3 ${stat} does not exist`);
  if (stat === 5 && io.length < 8) io.push(`${name} ${args.toString('hex').slice(0, 400)}`);
  if (stat === 10006) bugs.push(`${name}: SERVERFAULT for ${args.subarray(0, 120).toString('hex')}`);
  if ((proc === 6 || proc === 7) && stat === 0) {
    const fhLen = args.readUInt32BE(0);
    const fh = args.subarray(4, 4 + fhLen);
    const k = gen.known.get(fh.toString('hex'));
    if (k && k.type !== 'reg') bugs.push(`${name} of a ${k.type} succeeded`);
    if (proc === 6) {
      // READ3resok whole: attributes, count, eof, exactly count bytes of data, no more than asked, nothing after.
      const asked = args.readUInt32BE(4 + ((fhLen + 3) & ~3) + 8);
      readPostOpAttr(rep.body);
      const count = rep.body.u32();
      rep.body.bool();
      const data = rep.body.opaque(0xffffffff);
      if (data.length !== count || count > asked || rep.body.remaining !== 0) bugs.push(`READ reply: count ${count}, ${data.length} bytes, asked ${asked}, ${rep.body.remaining} bytes after`);
    }
  }
}

/** Everything about a tree a client could change: names, types, modes, owners, sizes, times, contents, targets. */
async function snapshot(dir: string): Promise<string> {
  const out: string[] = [];
  const walk = async (p: string, rel: string): Promise<void> => {
    const st = await lstat(p);
    let extra = '';
    if (st.isFile()) extra = createHash('sha256').update(await readFile(p)).digest('hex');
    else if (st.isSymbolicLink()) extra = await readlink(p);
    out.push(`${rel} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.size} ${st.mtimeMs} ${st.nlink} ${extra}`);
    if (st.isDirectory()) for (const n of (await readdir(p)).sort()) await walk(join(p, n), `${rel}/${n}`);
  };
  await walk(dir, '');
  return out.join('\n');
}

const openFds = async () => {
  const out: string[] = [];
  for (const fd of await readdir('/proc/self/fd')) {
    const st = await stat(`/proc/self/fd/${fd}`).catch(() => undefined);
    out.push(`${fd}:${await readlink(`/proc/self/fd/${fd}`).catch(() => '?')}:${st ? `${st.dev}/${st.ino}` : '?'}`);
  }
  return out;
};

/**
 * The posix backend over a temp directory: the export one level down, and
 * beside it a directory (a file, a symlink to /etc) no call may change,
 * nor may anything appear beside the export. Closing gives back every fd.
 * Needs root.
 */
export async function posixWorld(): Promise<FuzzWorld> {
  const base = await mkdtemp(join(tmpdir(), 'cairn-posix-fuzz-'));
  await chmod(base, 0o755);
  const exp = join(base, 'export');
  await mkdir(exp, { mode: 0o777 });
  await chmod(exp, 0o777);
  await mkdir(join(base, 'outside', 'dir'), { recursive: true });
  await writeFile(join(base, 'outside', 'secret'), 'not for clients\n', { mode: 0o600 });
  await symlink('/etc', join(base, 'outside', 'etc'));
  // What the base holds besides the export: compared at the end.
  const before = await snapshot(join(base, 'outside'));
  const names = (await readdir(base)).sort().join(',');
  const fds = await openFds();
  const backend = await openPosixBackend(exp);
  return {
    backend,
    async verify() {
      assert.equal((await readdir(base)).sort().join(','), names, 'nothing appeared beside the export');
      assert.equal(await snapshot(join(base, 'outside')), before, 'nothing outside the export changed');
    },
    async close() {
      await backend.close();
      const after = await openFds();
      await rm(base, { recursive: true, force: true });
      // The backend's fd cache is closed with it: every fd it opened is back.
      // Only the world's own files count: the process opens others (node opened /dev/null now and then).
      const added = after.filter((f) => !fds.includes(f) && f.includes(base));
      assert.deepEqual(added, [], `fds under the world open after close: ${added.join(' ')}`);
    },
  };
}
