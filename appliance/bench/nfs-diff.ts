/**
 * `node dist/bench/nfs-diff.js`: differential test of Cairn's NFSv3 server
 * against NFS-Ganesha (FSAL_VFS). The same sequences of raw NFSv3 calls go
 * to both, each serving a fresh empty directory; the harness prints where
 * the status codes or the shape of the replies differ (post-op attributes
 * and wcc present or not, eof, counts, file types, sizes, nlink, mode bits),
 * never volatile values (fileids, times, verifiers, handles).
 *
 *   node dist/bench/nfs-diff.js [--only SUBSTRING] [--all] [--keep]
 *   node dist/bench/nfs-diff.js --gluster [--vm] [--only SUBSTRING] [--all]
 *
 * `--gluster`: Cairn's gfapi backend against Ganesha FSAL_GLUSTER on one
 * replica-3 volume (the private lab of test/pool/gluster/lab.ts, a
 * general-purpose volume, or tuned as a VM datastore with `--vm`), each
 * server in a fresh directory of the volume, with Cairn's posix backend on
 * a local directory as a third column: where Ganesha is unhelpful, the
 * posix backend's semantics are the ones the gfapi backend should share.
 * Needs nfs-ganesha-gluster and glusterfs-server too. Everything runs in
 * the lab's network namespace; the lab's teardown kills every process in
 * it by pid.
 *
 * Not a test: a difference is a question for RFC 1813, not a verdict —
 * Ganesha has quirks of its own. Needs root, nfs-ganesha(-vfs), rpcbind.
 * Both servers run in a network namespace made for the run (Ganesha also in
 * a private mount namespace with its own rpcbind, ganesha-ns.sh, as
 * nfs-bench.ts does); the harness re-runs itself inside that namespace to
 * reach them. Every process in the namespace is ours and is stopped by pid
 * at the end; the namespace and the data are removed, also on failure.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { XdrReader } from '../src/nfs/xdr/reader.js';
import { XdrWriter } from '../src/nfs/xdr/writer.js';
import { RpcClient, type CallOptions } from '../test/nfs/helpers/rpc-client.js';
import { ganeshaConfig, killGroup } from './common.js';
import type { TestContext } from 'node:test';
import { GlusterLab, replica3 } from '../test/pool/gluster/lab.js';
import { openGfapiBackend } from '../src/nfs/backend/gfapi/index.js';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
/** appliance/ (this file runs as appliance/dist/bench/nfs-diff.js). */
const appliance = resolve(here, '..', '..');
const GANESHA_PORT = 2049;
const GANESHA_MNT = 20048;
const CAIRN_PORT = 3049;
/** --gluster: Cairn's posix backend, the third column. */
const POSIX_PORT = 4049;
/** --gluster: each server's directory of the volume (and of the posix export). */
const BASE = { ganesha: 'diff-ganesha', cairn: 'diff-cairn', posix: 'diff-posix' } as const;

// ---------------------------------------------------------------- replies

type Shape = Record<string, unknown>;

/** fattr3 without its volatile fields. */
function fattr(r: XdrReader): Shape {
  const type = r.u32();
  const mode = r.u32();
  const nlink = r.u32();
  const uid = r.u32();
  const gid = r.u32();
  const size = r.u64();
  r.u64();
  const rdev = `${r.u32()},${r.u32()}`;
  r.u64();
  r.u64();
  for (let i = 0; i < 6; i++) r.u32();
  const s: Shape = { type, mode: mode.toString(8), nlink, uid, gid, rdev };
  // A directory's size is the filesystem's business (it differs between two ext4 directories with the same entries).
  if (type !== 2) s.size = Number(size);
  return s;
}

function postOp(r: XdrReader): Shape | false {
  return r.bool() ? fattr(r) : false;
}

function preOp(r: XdrReader): void {
  if (r.bool()) for (let i = 0; i < 6; i++) r.u32();
}

function wcc(r: XdrReader): Shape {
  // pre_op_attr is optional (RFC 1813 §2.6) and servers differ a lot in
  // when they send it: only its absence is worth nothing, so it is skipped.
  preOp(r);
  return { after: postOp(r) };
}

interface Decoded {
  shape: Shape;
  /** A handle the reply carries (CREATE, LOOKUP, …), for later calls. */
  fh?: Buffer;
  cookies?: bigint[];
  verf?: Buffer;
  ctime?: [number, number];
}

/** Decoders of the results of each NFSv3 procedure, to a comparable shape. */
const DECODE: Record<number, (r: XdrReader) => Decoded> = {
  1: (r) => {
    const status = r.u32();
    if (status !== 0) return { shape: { status } };
    const start = r.offset;
    const a = fattr(r);
    const raw = new XdrReader(r.buf.subarray(start + 76, start + 84));
    return { shape: { status, attrs: a }, ctime: [raw.u32(), raw.u32()] };
  },
  2: (r) => ({ shape: { status: r.u32(), wcc: wcc(r) } }),
  3: (r) => {
    const status = r.u32();
    if (status !== 0) return { shape: { status, dir: postOp(r) } };
    const fh = Buffer.from(r.opaque(64));
    return { shape: { status, obj: postOp(r), dir: postOp(r) }, fh };
  },
  4: (r) => {
    const status = r.u32();
    const obj = postOp(r);
    return { shape: status === 0 ? { status, obj, access: `0x${r.u32().toString(16)}` } : { status, obj } };
  },
  5: (r) => {
    const status = r.u32();
    const obj = postOp(r);
    return { shape: status === 0 ? { status, obj, path: r.string(4096) } : { status, obj } };
  },
  6: (r) => {
    const status = r.u32();
    const obj = postOp(r);
    if (status !== 0) return { shape: { status, obj } };
    const count = r.u32();
    const eof = r.bool();
    const data = r.opaque(1 << 21);
    return { shape: { status, obj, count, eof, dataLen: data.length, data: data.subarray(0, 32).toString('latin1') } };
  },
  7: (r) => {
    const status = r.u32();
    const w = wcc(r);
    if (status !== 0) return { shape: { status, wcc: w } };
    const count = r.u32();
    const committed = r.u32();
    r.fixedOpaque(8);
    return { shape: { status, wcc: w, count, committedAtLeastAsked: committed } };
  },
  8: diropres,
  9: diropres,
  10: diropres,
  11: diropres,
  12: (r) => ({ shape: { status: r.u32(), wcc: wcc(r) } }),
  13: (r) => ({ shape: { status: r.u32(), wcc: wcc(r) } }),
  14: (r) => ({ shape: { status: r.u32(), from: wcc(r), to: wcc(r) } }),
  15: (r) => ({ shape: { status: r.u32(), obj: postOp(r), dir: wcc(r) } }),
  16: (r) => readdir(r, false),
  17: (r) => readdir(r, true),
  18: (r) => {
    const status = r.u32();
    const obj = postOp(r);
    if (status !== 0) return { shape: { status, obj } };
    for (let i = 0; i < 6; i++) r.u64();
    return { shape: { status, obj, invarsec: r.u32() } };
  },
  19: (r) => {
    const status = r.u32();
    const obj = postOp(r);
    if (status !== 0) return { shape: { status, obj } };
    const f = { rtmax: r.u32(), rtpref: r.u32(), rtmult: r.u32(), wtmax: r.u32(), wtpref: r.u32(), wtmult: r.u32(), dtpref: r.u32() };
    const maxfilesize = r.u64().toString(16);
    const timeDelta = `${r.u32()}.${r.u32()}`;
    const properties = `0x${r.u32().toString(16)}`;
    return { shape: { status, obj, ...f, maxfilesize, timeDelta, properties } };
  },
  20: (r) => {
    const status = r.u32();
    const obj = postOp(r);
    if (status !== 0) return { shape: { status, obj } };
    return {
      shape: { status, obj, linkmax: r.u32(), nameMax: r.u32(), noTrunc: r.bool(), chownRestricted: r.bool(), caseInsensitive: r.bool(), casePreserving: r.bool() },
    };
  },
  21: (r) => {
    const status = r.u32();
    const w = wcc(r);
    if (status === 0) r.fixedOpaque(8);
    return { shape: { status, wcc: w } };
  },
};

function diropres(r: XdrReader): Decoded {
  const status = r.u32();
  if (status !== 0) return { shape: { status, dir: wcc(r) } };
  const hasFh = r.bool();
  const fh = hasFh ? Buffer.from(r.opaque(64)) : undefined;
  return { shape: { status, fh: hasFh, obj: postOp(r), dir: wcc(r) }, fh };
}

function readdir(r: XdrReader, plus: boolean): Decoded {
  const status = r.u32();
  const dir = postOp(r);
  if (status !== 0) return { shape: { status, dir } };
  const verf = Buffer.from(r.fixedOpaque(8));
  const names: string[] = [];
  const cookies: bigint[] = [];
  const attrs: string[] = [];
  while (r.bool()) {
    r.u64();
    names.push(r.string(1024));
    cookies.push(r.u64());
    if (plus) {
      const a = postOp(r);
      const fh = r.bool();
      if (fh) r.opaque(64);
      attrs.push(`${a === false ? 'noattr' : 'attr'}/${fh ? 'fh' : 'nofh'}`);
    }
  }
  const eof = r.bool();
  const shape: Shape = { status, dir, names: [...names].sort().join(','), eof };
  if (plus) shape.plus = [...new Set(attrs)].sort().join(',');
  return { shape, cookies, verf };
}

// ---------------------------------------------------------------- calls

const ROOT: CallOptions = { cred: { flavor: 'sys', uid: 0, gid: 0 } };
const USER: CallOptions = { cred: { flavor: 'sys', uid: 1000, gid: 1000 } };

const PROC_NAMES = ['NULL', 'GETATTR', 'SETATTR', 'LOOKUP', 'ACCESS', 'READLINK', 'READ', 'WRITE', 'CREATE', 'MKDIR', 'SYMLINK', 'MKNOD', 'REMOVE', 'RMDIR', 'RENAME', 'LINK', 'READDIR', 'READDIRPLUS', 'FSSTAT', 'FSINFO', 'PATHCONF', 'COMMIT'];

interface Obs {
  label: string;
  shape: Shape;
}

/** sattr3 */
interface Sattr {
  mode?: number;
  uid?: number;
  gid?: number;
  size?: bigint;
  atime?: 'server' | [number, number];
  mtime?: 'server' | [number, number];
}

function sattr3(w: XdrWriter, s: Sattr = {}): XdrWriter {
  for (const k of ['mode', 'uid', 'gid'] as const) {
    if (s[k] !== undefined) w.bool(true).u32(s[k]);
    else w.bool(false);
  }
  if (s.size !== undefined) w.bool(true).u64(s.size);
  else w.bool(false);
  for (const t of [s.atime, s.mtime]) {
    if (t === undefined) w.u32(0);
    else if (t === 'server') w.u32(1);
    else w.u32(2).u32(t[0]).u32(t[1]);
  }
  return w;
}

/** One server as a case sees it: raw calls that record what they got. */
class Session {
  readonly obs: Obs[] = [];
  constructor(
    private readonly c: RpcClient,
    readonly root: Buffer,
  ) {}

  async call(label: string, proc: number, args: XdrWriter, opts: CallOptions = ROOT): Promise<Decoded> {
    let d: Decoded;
    try {
      const rep = await this.c.call(100003, 3, proc, args.toBuffer(), { ...opts, timeoutMs: 5000 });
      if (!rep.accepted || rep.acceptStat !== 0) d = { shape: { rpc: rep.accepted ? `accept_stat ${rep.acceptStat}` : `denied ${rep.rejectStat}` } };
      else d = DECODE[proc]!(rep.body);
    } catch (e) {
      d = { shape: { error: (e as Error).message } };
    }
    this.obs.push({ label: `${PROC_NAMES[proc]} ${label}`, shape: d.shape });
    return d;
  }

  /** Records a fact of the case that is not a reply (e.g. a computed verdict). */
  note(label: string, shape: Shape): void {
    this.obs.push({ label, shape });
  }

  getattr(label: string, fh: Buffer, o?: CallOptions) {
    return this.call(label, 1, new XdrWriter().opaque(fh), o);
  }
  setattr(label: string, fh: Buffer, s: Sattr, guard?: [number, number], o?: CallOptions) {
    const w = sattr3(new XdrWriter().opaque(fh), s);
    if (guard) w.bool(true).u32(guard[0]).u32(guard[1]);
    else w.bool(false);
    return this.call(label, 2, w, o);
  }
  lookup(label: string, dir: Buffer, name: string | Buffer, o?: CallOptions) {
    return this.call(label, 3, new XdrWriter().opaque(dir).string(name), o);
  }
  access(label: string, fh: Buffer, bits: number, o?: CallOptions) {
    return this.call(label, 4, new XdrWriter().opaque(fh).u32(bits), o);
  }
  readlink(label: string, fh: Buffer, o?: CallOptions) {
    return this.call(label, 5, new XdrWriter().opaque(fh), o);
  }
  read(label: string, fh: Buffer, offset: bigint, count: number, o?: CallOptions) {
    return this.call(label, 6, new XdrWriter().opaque(fh).u64(offset).u32(count), o);
  }
  write(label: string, fh: Buffer, offset: bigint, data: Buffer, opts: { count?: number; stable?: number } = {}, o?: CallOptions) {
    return this.call(label, 7, new XdrWriter().opaque(fh).u64(offset).u32(opts.count ?? data.length).u32(opts.stable ?? 2).opaque(data), o);
  }
  create(label: string, dir: Buffer, name: string | Buffer, how: { mode: 0 | 1; attrs?: Sattr } | { mode: 2; verf: Buffer }, o?: CallOptions) {
    const w = new XdrWriter().opaque(dir).string(name).u32(how.mode);
    if (how.mode === 2) w.fixedOpaque(how.verf);
    else sattr3(w, how.attrs);
    return this.call(label, 8, w, o);
  }
  mkdir(label: string, dir: Buffer, name: string | Buffer, attrs: Sattr = {}, o?: CallOptions) {
    return this.call(label, 9, sattr3(new XdrWriter().opaque(dir).string(name), attrs), o);
  }
  symlink(label: string, dir: Buffer, name: string, target: string, o?: CallOptions) {
    return this.call(label, 10, sattr3(new XdrWriter().opaque(dir).string(name)).string(target), o);
  }
  mknod(label: string, dir: Buffer, name: string, type: number, attrs: Sattr = {}, rdev?: [number, number], o?: CallOptions) {
    const w = new XdrWriter().opaque(dir).string(name).u32(type);
    if (type === 3 || type === 4) {
      sattr3(w, attrs);
      w.u32(rdev?.[0] ?? 0).u32(rdev?.[1] ?? 0);
    } else if (type === 6 || type === 7) sattr3(w, attrs);
    return this.call(label, 11, w, o);
  }
  remove(label: string, dir: Buffer, name: string | Buffer, o?: CallOptions) {
    return this.call(label, 12, new XdrWriter().opaque(dir).string(name), o);
  }
  rmdir(label: string, dir: Buffer, name: string | Buffer, o?: CallOptions) {
    return this.call(label, 13, new XdrWriter().opaque(dir).string(name), o);
  }
  rename(label: string, fromDir: Buffer, from: string, toDir: Buffer, to: string, o?: CallOptions) {
    return this.call(label, 14, new XdrWriter().opaque(fromDir).string(from).opaque(toDir).string(to), o);
  }
  link(label: string, fh: Buffer, dir: Buffer, name: string, o?: CallOptions) {
    return this.call(label, 15, new XdrWriter().opaque(fh).opaque(dir).string(name), o);
  }
  readdir(label: string, dir: Buffer, cookie: bigint, verf: Buffer, count: number, o?: CallOptions) {
    return this.resumed(cookie, this.call(label, 16, new XdrWriter().opaque(dir).u64(cookie).fixedOpaque(verf).u32(count), o));
  }
  readdirplus(label: string, dir: Buffer, cookie: bigint, verf: Buffer, dircount: number, maxcount: number, o?: CallOptions) {
    return this.resumed(cookie, this.call(label, 17, new XdrWriter().opaque(dir).u64(cookie).fixedOpaque(verf).u32(dircount).u32(maxcount), o));
  }
  /** Servers order entries differently: a page after a cookie is compared by its size, not its names. */
  private async resumed(cookie: bigint, p: Promise<Decoded>): Promise<Decoded> {
    const d = await p;
    if (cookie !== 0n && typeof d.shape.names === 'string') d.shape.names = `${d.shape.names.split(',').filter(Boolean).length} entries`;
    return d;
  }
  fsstat(label: string, fh: Buffer, o?: CallOptions) {
    return this.call(label, 18, new XdrWriter().opaque(fh), o);
  }
  fsinfo(label: string, fh: Buffer, o?: CallOptions) {
    return this.call(label, 19, new XdrWriter().opaque(fh), o);
  }
  pathconf(label: string, fh: Buffer, o?: CallOptions) {
    return this.call(label, 20, new XdrWriter().opaque(fh), o);
  }
  commit(label: string, fh: Buffer, o?: CallOptions) {
    return this.call(label, 21, new XdrWriter().opaque(fh).u64(0n).u32(0), o);
  }

  /** A handle that must exist for the case to go on. */
  need(d: Decoded, what: string): Buffer {
    if (!d.fh) throw new Error(`${what}: no handle (${JSON.stringify(d.shape)})`);
    return d.fh;
  }
  async file(dir: Buffer, name: string, data?: string, mode = 0o644): Promise<Buffer> {
    const fh = this.need(await this.create(`setup ${name}`, dir, name, { mode: 0, attrs: { mode } }), name);
    if (data !== undefined) await this.write(`setup ${name}`, fh, 0n, Buffer.from(data));
    return fh;
  }
  async dir(dir: Buffer, name: string, mode = 0o755): Promise<Buffer> {
    return this.need(await this.mkdir(`setup ${name}`, dir, name, { mode }), name);
  }
}

type Case = (s: Session, d: Buffer) => Promise<void>;

const V1 = Buffer.from('verifier');
const V2 = Buffer.from('VERIFIER');
const ZERO_VERF = Buffer.alloc(8);

/** The cases; each runs in a fresh directory `d` of the export (mode 0777). */
const CASES: Record<string, Case> = {
  async 'create modes on existing names'(s, d) {
    const f = await s.file(d, 'f', 'hello');
    await s.create('UNCHECKED existing (size 0 asked)', d, 'f', { mode: 0, attrs: { size: 0n } });
    await s.getattr('after UNCHECKED size 0', f);
    await s.file(d, 'g', 'hello');
    await s.create('UNCHECKED existing, no attrs', d, 'g', { mode: 0 });
    await s.create('GUARDED existing', d, 'f', { mode: 1 });
    await s.dir(d, 'sub');
    await s.create('UNCHECKED on a directory', d, 'sub', { mode: 0 });
    await s.create('GUARDED on a directory', d, 'sub', { mode: 1 });
    await s.create('EXCLUSIVE new', d, 'x', { mode: 2, verf: V1 });
    await s.create('EXCLUSIVE retransmit same verifier', d, 'x', { mode: 2, verf: V1 });
    await s.create('EXCLUSIVE different verifier', d, 'x', { mode: 2, verf: V2 });
    await s.create('EXCLUSIVE on a plain existing file', d, 'f', { mode: 2, verf: V1 });
    const x = await s.lookup('x', d, 'x');
    if (x.fh) {
      await s.getattr('x after EXCLUSIVE', x.fh);
      await s.setattr('x set mode after EXCLUSIVE', x.fh, { mode: 0o640 });
      await s.getattr('x after setattr', x.fh);
      await s.create('EXCLUSIVE retransmit after setattr', d, 'x', { mode: 2, verf: V1 });
    }
    await s.create('UNCHECKED with mode 04755', d, 'suid', { mode: 0, attrs: { mode: 0o4755 } });
    await s.create('create in a file', f, 'y', { mode: 0 });
  },

  async 'mkdir, mknod, symlink on existing names'(s, d) {
    await s.file(d, 'f');
    await s.dir(d, 'sub');
    await s.mkdir('existing dir', d, 'sub');
    await s.mkdir('existing file', d, 'f');
    await s.mkdir('mode 01777', d, 'sticky', { mode: 0o1777 });
    await s.mkdir('mode 02755', d, 'sgid', { mode: 0o2755 });
    await s.mknod('FIFO', d, 'fifo', 7, { mode: 0o600 });
    await s.mknod('socket', d, 'sock', 6, { mode: 0o600 });
    await s.mknod('char device 1,3', d, 'chr', 4, { mode: 0o600 }, [1, 3]);
    await s.mknod('block device 7,0', d, 'blk', 3, { mode: 0o600 }, [7, 0]);
    await s.mknod('FIFO on existing name', d, 'f', 7);
    await s.mknod('regular (BADTYPE)', d, 'r', 1);
    await s.mknod('directory (BADTYPE)', d, 'r2', 2);
    await s.mknod('symlink (BADTYPE)', d, 'r3', 5);
    await s.symlink('on existing name', d, 'f', 'target');
    await s.symlink('new', d, 'sl', 'some/where');
    await s.symlink('empty target', d, 'sl2', '');
    const sl = await s.lookup('sl', d, 'sl');
    if (sl.fh) await s.readlink('of a symlink', sl.fh);
    const f = await s.lookup('f', d, 'f');
    if (f.fh) await s.readlink('of a file', f.fh);
    await s.readlink('of a directory', d);
    const fifo = await s.lookup('fifo', d, 'fifo');
    if (fifo.fh) {
      await s.read('of a FIFO', fifo.fh, 0n, 10);
      await s.write('to a FIFO', fifo.fh, 0n, Buffer.from('x'));
    }
    const chr = await s.lookup('chr', d, 'chr');
    if (chr.fh) await s.read('of a char device', chr.fh, 0n, 10);
  },

  async 'remove and rmdir'(s, d) {
    await s.file(d, 'f');
    const sub = await s.dir(d, 'sub');
    const full = await s.dir(d, 'full');
    await s.file(full, 'inside');
    await s.remove('a directory', d, 'sub');
    await s.rmdir('a file', d, 'f');
    await s.rmdir('non-empty', d, 'full');
    await s.rmdir('.', d, '.');
    await s.rmdir('..', sub, '..');
    await s.remove('.', d, '.');
    await s.remove('..', sub, '..');
    await s.remove('missing', d, 'nope');
    await s.rmdir('missing', d, 'nope');
    await s.remove('empty name', d, '');
    await s.rmdir('empty name', d, '');
    await s.remove('name with slash', d, 'full/inside');
    await s.remove('in a file', (await s.lookup('f', d, 'f')).fh ?? d, 'x');
    await s.rmdir('empty dir', d, 'sub');
    await s.getattr('removed dir handle', sub);
    await s.remove('file', d, 'f');
  },

  async rename(s, d) {
    await s.file(d, 'a', 'aaa');
    await s.link('a to hard', (await s.lookup('a', d, 'a')).fh!, d, 'hard');
    await s.rename('onto itself', d, 'a', d, 'a');
    await s.rename('onto a hard link of itself', d, 'a', d, 'hard');
    await s.lookup('a after rename onto hard link', d, 'a');
    await s.lookup('hard after rename onto hard link', d, 'hard');
    const dir1 = await s.dir(d, 'dir1');
    const dir2 = await s.dir(d, 'dir2');
    await s.file(dir2, 'x');
    await s.dir(d, 'empty');
    await s.rename('dir onto non-empty dir', d, 'dir1', d, 'dir2');
    await s.rename('dir onto empty dir', d, 'dir1', d, 'empty');
    await s.file(d, 'b');
    await s.rename('file onto dir', d, 'b', d, 'dir2');
    await s.rename('dir onto file', d, 'empty', d, 'b');
    const inner = await s.dir(dir1, 'inner');
    await s.rename('dir into its own subdirectory', d, 'empty', inner, 'loop');
    await s.rename('dir1 (renamed to empty) into its subdirectory', d, 'empty', dir1, 'self');
    await s.rename('missing source', d, 'nope', d, 'c');
    await s.rename('to .', d, 'b', d, '.');
    await s.rename('from .', d, '.', d, 'c');
    await s.rename('to ..', d, 'b', d, '..');
    await s.rename('to empty name', d, 'b', d, '');
    await s.rename('to a name with slash', d, 'b', d, 'dir2/x');
    await s.rename('into a file', d, 'b', (await s.lookup('a', d, 'hard')).fh ?? d, 'c');
    await s.rename('plain', d, 'b', dir1, 'c');
  },

  async link(s, d) {
    const f = await s.file(d, 'f');
    const sub = await s.dir(d, 'sub');
    await s.link('to a directory', sub, d, 'sublink');
    await s.link('onto existing name', f, d, 'sub');
    await s.link('plain', f, d, 'f2');
    await s.getattr('nlink after link', f);
    await s.link('into a file', f, f, 'x');
    await s.link('name .', f, d, '.');
    await s.link('empty name', f, d, '');
    const sl = await s.symlink('setup', d, 'sl', 'f');
    if (sl.fh) await s.link('of a symlink', sl.fh, d, 'sl2');
  },

  async 'read and write'(s, d) {
    const f = await s.file(d, 'f', 'hello world');
    await s.read('past EOF', f, 100n, 10);
    await s.read('at EOF', f, 11n, 10);
    await s.read('count 0', f, 0n, 0);
    await s.read('count 0 at EOF', f, 11n, 0);
    await s.read('up to EOF exactly', f, 0n, 11);
    await s.read('across EOF', f, 6n, 100);
    await s.read('a directory', d, 0n, 10);
    await s.write('to a directory', d, 0n, Buffer.from('x'));
    await s.write('count smaller than data', f, 0n, Buffer.from('ABCDEF'), { count: 3 });
    await s.read('after short count write', f, 0n, 20);
    await s.write('count larger than data', f, 0n, Buffer.from('ABC'), { count: 10 });
    await s.write('count 0', f, 0n, Buffer.alloc(0));
    await s.write('unstable', f, 20n, Buffer.from('zz'), { stable: 0 });
    await s.getattr('size after sparse write', f);
    await s.write('offset near 2^63', f, (1n << 63n) - 2n, Buffer.from('xyz'));
    await s.write('offset 2^64-1', f, (1n << 64n) - 1n, Buffer.from('x'));
    await s.read('offset 2^64-1', f, (1n << 64n) - 1n, 10);
    await s.commit('a file', f);
    await s.commit('a directory', d);
    const sl = await s.symlink('setup', d, 'sl', 'f');
    if (sl.fh) {
      await s.read('a symlink', sl.fh, 0n, 10);
      await s.write('a symlink', sl.fh, 0n, Buffer.from('x'));
      await s.commit('a symlink', sl.fh);
    }
  },

  async setattr(s, d) {
    const f = await s.file(d, 'f', 'hello');
    const sub = await s.dir(d, 'sub');
    await s.setattr('size on a directory', sub, { size: 0n });
    await s.setattr('size 0 on a directory with no change', sub, { size: 4096n });
    const g = await s.getattr('f', f);
    await s.setattr('guard ctime mismatch', f, { mode: 0o600 }, [1, 2]);
    if (g.ctime) await s.setattr('guard ctime match', f, { mode: 0o600 }, g.ctime);
    await s.setattr('mode 04755', f, { mode: 0o4755 });
    await s.getattr('after 04755', f);
    await s.setattr('mode 06777 on dir', sub, { mode: 0o6777 });
    await s.getattr('dir after 06777', sub);
    await s.setattr('size 2', f, { size: 2n });
    await s.getattr('after truncate', f);
    await s.setattr('size 1<<40', f, { size: 1n << 40n });
    await s.setattr('uid 1000 gid 1000', f, { uid: 1000, gid: 1000 });
    await s.getattr('after chown', f);
    await s.setattr('nothing', f, {});
    const sl = await s.symlink('setup', d, 'sl', 'f');
    if (sl.fh) {
      await s.setattr('mode on a symlink', sl.fh, { mode: 0o600 });
      await s.setattr('size on a symlink', sl.fh, { size: 0n });
    }
    // Non-root.
    const mine = await s.file(d, 'mine', 'abc', 0o644);
    await s.setattr('chown to 1000 (root)', mine, { uid: 1000, gid: 1000 });
    await s.setattr('by owner: mode 04755 with foreign group', mine, { mode: 0o2755 }, undefined, { cred: { flavor: 'sys', uid: 1000, gid: 1000 } });
    await s.getattr('mine after sgid by owner', mine);
    await s.setattr('by owner: chown to 0', mine, { uid: 0 }, undefined, USER);
    await s.setattr('by owner: chgrp to a group not held', mine, { gid: 5 }, undefined, USER);
    await s.setattr('by non-owner: mode', f, { mode: 0o777 }, undefined, { cred: { flavor: 'sys', uid: 2000, gid: 2000 } });
    await s.setattr('by non-owner: size on 0644 file', mine, { size: 0n }, undefined, { cred: { flavor: 'sys', uid: 2000, gid: 2000 } });
    await s.setattr('by owner: size on 0444 own file', (await s.file(d, 'ro', 'x', 0o444).then(async (h) => (await s.setattr('chown ro', h, { uid: 1000 }), h))), { size: 0n }, undefined, USER);
  },

  async lookup(s, d) {
    await s.file(d, 'f');
    const sub = await s.dir(d, 'sub');
    await s.lookup('empty name', d, '');
    await s.lookup('.', d, '.');
    await s.lookup('..', sub, '..');
    await s.lookup('.. of the export root', s.root, '..');
    await s.lookup('name with slash', d, 'sub/x');
    await s.lookup('255 bytes missing', d, 'n'.repeat(255));
    await s.lookup('256 bytes', d, 'n'.repeat(256));
    await s.lookup('1000 bytes', d, 'n'.repeat(1000));
    await s.create('256 bytes', d, 'n'.repeat(256), { mode: 0 });
    await s.mkdir('256 bytes', d, 'n'.repeat(256));
    await s.lookup('in a file', (await s.lookup('f', d, 'f')).fh!, 'x');
    await s.lookup('missing', d, 'nope');
    await s.lookup('NUL in name', d, 'a\0b');
  },

  async readdir(s, d) {
    for (let i = 0; i < 20; i++) await s.file(d, `file-${i}`);
    const sub = await s.dir(d, 'sub');
    const first = await s.readdir('count 4096', d, 0n, ZERO_VERF, 4096);
    await s.readdir('tiny count 10', d, 0n, ZERO_VERF, 10);
    await s.readdir('count 100', d, 0n, ZERO_VERF, 100);
    await s.readdirplus('tiny maxcount 10', d, 0n, ZERO_VERF, 10, 10);
    await s.readdirplus('maxcount 200', d, 0n, ZERO_VERF, 200, 200);
    await s.readdirplus('dircount 0', d, 0n, ZERO_VERF, 0, 8192);
    const mid = first.cookies?.[5];
    if (mid !== undefined) {
      await s.readdir('good cookie, good verf', d, mid, first.verf!, 4096);
      await s.readdir('good cookie, wrong verf', d, mid, Buffer.from('badbadba'), 4096);
      await s.readdir('good cookie, zero verf', d, mid, ZERO_VERF, 4096);
    }
    await s.readdir('cookie 0, junk verf', d, 0n, Buffer.from('junkjunk'), 4096);
    await s.readdir('huge cookie', d, 1n << 60n, first.verf ?? ZERO_VERF, 4096);
    await s.readdir('of a file', (await s.lookup('f', d, 'file-1')).fh!, 0n, ZERO_VERF, 4096);
    await s.readdirplus('of a file', (await s.lookup('f', d, 'file-1')).fh!, 0n, ZERO_VERF, 4096, 8192);
    await s.readdir('empty dir', sub, 0n, ZERO_VERF, 4096);
    await s.readdirplus('empty dir', sub, 0n, ZERO_VERF, 4096, 8192);
    const locked = await s.dir(d, 'locked', 0o700);
    await s.file(locked, 'secret');
    await s.readdir('0700 dir as uid 1000', locked, 0n, ZERO_VERF, 4096, USER);
    await s.readdirplus('0700 dir as uid 1000', locked, 0n, ZERO_VERF, 4096, 8192, USER);
    const noexec = await s.dir(d, 'noexec', 0o744);
    await s.file(noexec, 'inside');
    await s.readdirplus('0744 dir as uid 1000 (read, no search)', noexec, 0n, ZERO_VERF, 4096, 8192, USER);
    await s.lookup('in 0744 dir as uid 1000', noexec, 'inside', USER);
  },

  async access(s, d) {
    const all = 0x3f;
    for (const mode of [0o700, 0o755, 0o644, 0o600, 0o711, 0o000, 0o4755, 0o1777, 0o777]) {
      const f = await s.file(d, `f${mode.toString(8)}`, 'x', mode);
      const dd = await s.dir(d, `d${mode.toString(8)}`, mode);
      await s.access(`file ${mode.toString(8)} uid 1000`, f, all, USER);
      await s.access(`dir ${mode.toString(8)} uid 1000`, dd, all, USER);
      await s.access(`file ${mode.toString(8)} root`, f, all);
      await s.access(`dir ${mode.toString(8)} root`, dd, all);
    }
    const own = await s.file(d, 'own', 'x', 0o600);
    await s.setattr('chown own', own, { uid: 1000, gid: 1000 });
    await s.access('own 0600 file uid 1000', own, all, USER);
    await s.setattr('chmod own 0', own, { mode: 0 });
    await s.access('own 0000 file uid 1000', own, all, USER);
    await s.read('own 0000 file uid 1000', own, 0n, 1, USER);
    await s.write('own 0000 file uid 1000', own, 0n, Buffer.from('y'), {}, USER);
    const f644 = await s.lookup('f644', d, 'f644');
    if (f644.fh) {
      await s.write('0644 root file as uid 1000', f644.fh, 0n, Buffer.from('y'), {}, USER);
      await s.read('0644 root file as uid 1000', f644.fh, 0n, 1, USER);
    }
    const f600 = await s.lookup('f600', d, 'f600');
    if (f600.fh) await s.read('0600 root file as uid 1000', f600.fh, 0n, 1, USER);
    const f711 = await s.lookup('f711', d, 'f711');
    if (f711.fh) await s.read('0711 root file as uid 1000 (exec only)', f711.fh, 0n, 1, USER);
    await s.access('bits beyond 0x3f', own, 0xff, USER);
    await s.access('no bits', own, 0, USER);
    const d755 = await s.lookup('d755', d, 'd755');
    if (d755.fh) {
      await s.create('in 0755 root dir as uid 1000', d755.fh, 'x', { mode: 0 }, USER);
      await s.mkdir('in 0755 root dir as uid 1000', d755.fh, 'x', {}, USER);
      await s.remove('in 0755 root dir as uid 1000 (missing)', d755.fh, 'x', USER);
    }
    const sticky = await s.lookup('d1777', d, 'd1777');
    if (sticky.fh) {
      await s.file(sticky.fh, 'roots');
      await s.remove('root file in sticky dir as uid 1000', sticky.fh, 'roots', USER);
      await s.rename('root file in sticky dir as uid 1000', sticky.fh, 'roots', sticky.fh, 'moved', USER);
    }
  },

  async 'more permissions'(s, d) {
    const U2: CallOptions = { cred: { flavor: 'sys', uid: 2000, gid: 2000 } };
    const noexec = await s.dir(d, 'noexec', 0o744);
    await s.file(noexec, 'inside');
    await s.readdir('0744 dir as uid 1000 (read, no search)', noexec, 0n, ZERO_VERF, 4096, USER);
    const nr = await s.dir(d, 'noread', 0o711);
    await s.file(nr, 'inside');
    await s.readdir('0711 dir as uid 1000 (search, no read)', nr, 0n, ZERO_VERF, 4096, USER);
    await s.readdirplus('0711 dir as uid 1000 (search, no read)', nr, 0n, ZERO_VERF, 4096, 8192, USER);
    await s.lookup('in 0711 dir as uid 1000', nr, 'inside', USER);
    const shared = await s.file(d, 'shared', 'x', 0o666);
    await s.setattr('client mtime on 0666 root file by uid 1000', shared, { mtime: [1000, 0] }, undefined, USER);
    await s.setattr('server mtime on 0666 root file by uid 1000', shared, { mtime: 'server', atime: 'server' }, undefined, USER);
    await s.setattr('client mtime by root', shared, { mtime: [1000, 0], atime: [2000, 5] });
    const ro = await s.file(d, 'ro', 'x', 0o644);
    await s.setattr('server mtime on 0644 root file by uid 1000', ro, { mtime: 'server' }, undefined, USER);
    await s.setattr('server atime+mtime on 0644 root file by uid 1000', ro, { mtime: 'server', atime: 'server' }, undefined, USER);
    await s.setattr('server mtime only on 0666 root file by uid 1000', shared, { mtime: 'server' }, undefined, USER);
    await s.setattr('client times on 0666 root file by uid 1000', shared, { mtime: [5, 0], atime: [5, 0] }, undefined, USER);
    const sgid = await s.dir(d, 'sgid', 0o2777);
    await s.setattr('chgrp sgid dir to 50', sgid, { gid: 50 });
    await s.mkdir('as uid 1000 in a setgid dir', sgid, 'sub', {}, USER);
    await s.create('as uid 1000 in a setgid dir', sgid, 'f', { mode: 0, attrs: { mode: 0o2755 } }, USER);
    await s.mknod('char device as uid 1000', d, 'chr', 4, {}, [1, 3], USER);
    await s.mknod('FIFO as uid 1000', d, 'fifo', 7, { mode: 0o666 }, undefined, USER);
    await s.create('uid 1000 sets gid 5 (not a member)', d, 'g5', { mode: 0, attrs: { gid: 5 } }, USER);
    await s.create('uid 1000 sets uid 0', d, 'u0', { mode: 0, attrs: { uid: 0 } }, USER);
    await s.create('root sets uid/gid 1000', d, 'u1000', { mode: 0, attrs: { uid: 1000, gid: 1000, mode: 0o640 } });
    const mine = await s.create('uid 1000 mode 0444', d, 'mine', { mode: 0, attrs: { mode: 0o444 } }, USER);
    if (mine.fh) {
      await s.write('to own 0444 file as uid 1000', mine.fh, 0n, Buffer.from('abc'), {}, USER);
      await s.write('to own 0444 file as uid 2000', mine.fh, 0n, Buffer.from('abc'), {}, U2);
      await s.read('own 0444 file as uid 2000', mine.fh, 0n, 3, U2);
    }
    const rootf = await s.file(d, 'rootf', 'x', 0o644);
    await s.link('of a root 0644 file as uid 1000 (protected_hardlinks)', rootf, d, 'lnk', USER);
    const locked = await s.dir(d, 'locked', 0o755);
    await s.symlink('as uid 1000 in a 0755 root dir', locked, 'sl', 'x', USER);
    await s.create('EXCLUSIVE as uid 1000', d, 'ex', { mode: 2, verf: V1 }, USER);
    await s.create('EXCLUSIVE retransmit as uid 2000', d, 'ex', { mode: 2, verf: V1 }, U2);
    const st = await s.dir(d, 'sticky', 0o1777);
    await s.file(st, 'rootfile', 'x', 0o666);
    await s.create('in sticky dir by uid 1000', st, 'userfile', { mode: 0 }, USER);
    await s.rename('own file onto root file in sticky dir', st, 'userfile', st, 'rootfile', USER);
    await s.rmdir('export root ..', s.root, '..');
    await s.mkdir('.', d, '.');
    await s.mkdir('..', d, '..');
    await s.create('.', d, '.', { mode: 0 });
    await s.symlink('..', d, '..', 'x');
    await s.link('..', rootf, d, '..');
    await s.commit('offset near 2^64', rootf);
    await s.call('COMMIT offset 2^64-1 count 10', 21, new XdrWriter().opaque(rootf).u64((1n << 64n) - 1n).u32(10));
    await s.call('COMMIT offset 0 count 2^32-1', 21, new XdrWriter().opaque(rootf).u64(0n).u32(0xffffffff));
    await s.read('count 4 MiB', rootf, 0n, 4 << 20);
  },

  async 'special files'(s, d) {
    const fifo = await s.mknod('FIFO', d, 'fifo', 7, { mode: 0o644 });
    const sock = await s.mknod('socket', d, 'sock', 6, { mode: 0o644 });
    for (const [n, x] of [['fifo', fifo], ['sock', sock]] as const) {
      if (!x.fh) continue;
      await s.getattr(n, x.fh);
      await s.access(`${n} root`, x.fh, 0x3f);
      await s.access(`${n} uid 1000`, x.fh, 0x3f, USER);
      await s.setattr(`${n} size 0`, x.fh, { size: 0n });
      await s.setattr(`${n} mode 0600`, x.fh, { mode: 0o600 });
      await s.lookup(`in a ${n}`, x.fh, 'x');
      await s.readdir(`of a ${n}`, x.fh, 0n, ZERO_VERF, 4096);
      await s.commit(`a ${n}`, x.fh);
    }
    const sl = await s.symlink('to missing', d, 'sl', 'missing');
    if (sl.fh) {
      await s.access('symlink', sl.fh, 0x3f, USER);
      await s.lookup('through a symlink', sl.fh, 'x');
      await s.readdir('of a symlink', sl.fh, 0n, ZERO_VERF, 4096);
      await s.setattr('symlink uid 1000', sl.fh, { uid: 1000 });
      await s.getattr('symlink', sl.fh);
    }
    const f = await s.file(d, 'f', '0123456789');
    await s.create('UNCHECKED existing with size 2 and mode 0600', d, 'f', { mode: 0, attrs: { size: 2n, mode: 0o600 } });
    await s.getattr('f after UNCHECKED', f);
    await s.create('GUARDED new with size 5', d, 'g', { mode: 1, attrs: { size: 5n, mode: 0o600 } });
    await s.create('UNCHECKED new with atime', d, 'h', { mode: 0, attrs: { mtime: [1000, 0] } });
    await s.mknod('FIFO with uid/gid', d, 'fifo2', 7, { mode: 0o600, uid: 1000, gid: 1000 });
    await s.mkdir('with uid/gid', d, 'dd', { mode: 0o700, uid: 1000, gid: 1000 });
    await s.call('SYMLINK with mode and uid', 10, sattr3(new XdrWriter().opaque(d).string('sl2'), { mode: 0o600, uid: 1000 }).string('tgt'));
  },

  async 'fs info'(s) {
    await s.fsinfo('root', s.root);
    await s.pathconf('root', s.root);
    await s.fsstat('root', s.root);
    await s.getattr('root', s.root);
    await s.access('root as uid 1000', s.root, 0x3f, USER);
  },

  async 'bad handles'(s, d) {
    const f = await s.file(d, 'f');
    const bad = Buffer.from(f);
    bad[bad.length - 1]! ^= 0xff;
    await s.getattr('corrupted handle', bad);
    await s.getattr('empty handle', Buffer.alloc(0));
    await s.getattr('short handle', f.subarray(0, 4));
    await s.remove('f', d, 'f');
    await s.getattr('handle of a removed file', f);
    await s.read('handle of a removed file', f, 0n, 1);
    await s.lookup('dir is a removed file', f, 'x');
  },
};

// ---------------------------------------------------------------- running

interface ServerSpec {
  name: string;
  port: number;
  mountPort: number;
  mountPath: string;
  /** Case directories go into this directory of the export (the export root itself when absent). */
  base?: string;
}

async function runCases(spec: ServerSpec, only: string | undefined): Promise<Map<string, Obs[]>> {
  const out = new Map<string, Obs[]>();
  const mc = await RpcClient.connect(spec.mountPort);
  const m = await mc.mount(spec.mountPath, ROOT);
  mc.close();
  if (!m.fh) throw new Error(`${spec.name}: MOUNT ${spec.mountPath} answered ${m.status}`);
  let parent = m.fh;
  if (spec.base) {
    const c = await RpcClient.connect(spec.port);
    const b = await new Session(c, m.fh).lookup('base', m.fh, spec.base);
    c.close();
    if (!b.fh) throw new Error(`${spec.name}: no ${spec.base} in the export (${JSON.stringify(b.shape)})`);
    parent = b.fh;
  }
  for (const [name, fn] of Object.entries(CASES)) {
    if (only && !name.includes(only)) continue;
    const c = await RpcClient.connect(spec.port);
    const s = new Session(c, m.fh);
    try {
      const mk = await s.mkdir('case directory', parent, name.replace(/[^a-z0-9]+/gi, '-'), { mode: 0o777 });
      const dir = s.need(mk, 'case directory');
      // MKDIR applies the umask on some servers: make sure.
      await s.setattr('case directory 0777', dir, { mode: 0o777 });
      await fn(s, dir);
    } catch (e) {
      s.note('case aborted', { error: (e as Error).message });
    } finally {
      c.close();
    }
    out.set(name, s.obs);
  }
  return out;
}

/**
 * Prints, per case, the steps where the servers' shapes differ (the first
 * server is the reference the others are compared with, every column shown).
 */
function compare(results: [string, Map<string, Obs[]>][], all: boolean): number {
  let diffs = 0;
  const [, ref] = results[0]!;
  const width = Math.max(...results.map(([n]) => n.length));
  for (const name of ref.keys()) {
    const cols = results.map(([n, r]) => [n, r.get(name) ?? []] as const);
    const lines: string[] = [];
    const n = Math.max(...cols.map(([, o]) => o.length));
    for (let i = 0; i < n; i++) {
      const labels = cols.map(([, o]) => o[i]?.label);
      const shapes = cols.map(([, o]) => JSON.stringify(o[i]?.shape));
      const label = labels.find((l) => l !== undefined) ?? '?';
      if (labels.some((l) => l !== labels[0])) lines.push(`  !! step ${i}: ${cols.map(([sn], j) => `${sn} "${labels[j]}"`).join(' vs ')}`);
      if (shapes.some((x) => x !== shapes[0])) {
        diffs++;
        lines.push(`  DIFF ${label}\n${cols.map(([sn], j) => `    ${sn.padEnd(width)} ${shapes[j]}`).join('\n')}`);
      } else if (all) lines.push(`  same ${label} ${shapes[0]}`);
    }
    process.stdout.write(`## ${name}\n${lines.join('\n') || '  (no differences)'}\n`);
  }
  return diffs;
}

// ---------------------------------------------------------------- processes

/** True once a TCP port answers on 127.0.0.1. */
async function listening(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), res(true)));
    s.once('error', () => res(false));
  });
}

async function waitFor(what: string, child: ChildProcess, ports: number[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited at start`);
    if ((await Promise.all(ports.map(listening))).every(Boolean)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not start within 30 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = once(child, 'exit');
  killGroup(child, 'SIGTERM');
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 10_000);
  await done;
  clearTimeout(timer);
}

/** Inside the namespace: start both servers, run the cases, compare, stop both. */
async function inner(work: string, only: string | undefined, all: boolean): Promise<number> {
  const gdata = join(work, 'ganesha');
  const cdata = join(work, 'cairn');
  const conf = join(work, 'ganesha.conf');
  await writeFile(
    conf,
    ganeshaConfig({ port: GANESHA_PORT, mountPort: GANESHA_MNT, path: gdata, pseudo: '/export', fsal: 'Name = VFS;' }),
  );
  const started: ChildProcess[] = [];
  const spawnGroup = (cmd: string, args: string[]) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], detached: true });
    started.push(child);
    return child;
  };
  try {
    const g = spawnGroup('unshare', ['-m', '--propagation', 'private', 'bash', join(appliance, 'bench', 'ganesha-ns.sh'), conf, join(work, 'ganesha.log')]);
    const c = spawnGroup(process.execPath, [
      join(appliance, 'bin', 'cairnd.js'),
      'nfs-serve',
      '--dir',
      cdata,
      '--port',
      String(CAIRN_PORT),
      '--host',
      '127.0.0.1',
      '--backend',
      'posix',
      '--log-level',
      'warn',
      '--fh-secret',
      join(work, 'fh.secret'),
    ]);
    await waitFor('ganesha', g, [GANESHA_PORT, GANESHA_MNT]);
    await waitFor('cairnd', c, [CAIRN_PORT]);
    const gres = await runCases({ name: 'ganesha', port: GANESHA_PORT, mountPort: GANESHA_MNT, mountPath: gdata }, only);
    const cres = await runCases({ name: 'cairn', port: CAIRN_PORT, mountPort: CAIRN_PORT, mountPath: '/export' }, only);
    const n = compare([['ganesha', gres], ['cairn', cres]], all);
    process.stdout.write(`\n${n} difference(s)\n`);
    return 0;
  } finally {
    for (const child of started) await stop(child);
  }
}

/** Outside: make the namespace and the data directories, run `inner` in the namespace, clean up. */
async function outer(only: string | undefined, all: boolean, keep: boolean): Promise<number> {
  const ns = `cairn-diff-${process.pid}`;
  const work = await mkdtemp('/var/tmp/cairn-nfs-diff-');
  let made = false;
  try {
    for (const d of ['ganesha', 'cairn']) {
      await mkdir(join(work, d));
      await chmod(join(work, d), 0o755);
      await chown(join(work, d), 0, 0);
    }
    await chmod(work, 0o755);
    await run('ip', ['netns', 'add', ns]);
    made = true;
    await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    const args = [fileURLToPath(import.meta.url), '--inner', work, ...(only ? ['--only', only] : []), ...(all ? ['--all'] : [])];
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, ...args], { stdio: 'inherit' });
    // Interrupted: stop the harness; what it started is stopped below.
    const interrupt = () => child.kill('SIGKILL');
    process.once('SIGINT', interrupt).once('SIGTERM', interrupt);
    const [code] = (await once(child, 'exit')) as [number | null];
    process.off('SIGINT', interrupt).off('SIGTERM', interrupt);
    return code ?? 1;
  } finally {
    if (made) {
      // Whatever is left in the namespace was started by this run.
      const { stdout } = await run('ip', ['netns', 'pids', ns]).catch(() => ({ stdout: '' }));
      for (const pid of stdout.split(/\s+/).filter(Boolean).map(Number)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    }
    if (!keep) await rm(work, { recursive: true, force: true });
    else process.stderr.write(`kept ${work}\n`);
  }
}

/**
 * --gluster, inside the lab's network namespace: Ganesha FSAL_GLUSTER,
 * Cairn gfapi and Cairn posix, the cases against each (each in its own
 * directory), the comparison, then all three stopped.
 */
async function innerGluster(work: string, host: string, only: string | undefined, all: boolean): Promise<number> {
  const conf = join(work, 'ganesha.conf');
  await writeFile(
    conf,
    ganeshaConfig({ port: GANESHA_PORT, mountPort: GANESHA_MNT, path: '/gv', pseudo: '/gv', fsal: `Name = GLUSTER; Hostname = "${host}"; Volume = "gv";` }),
  );
  const started: ChildProcess[] = [];
  const spawnGroup = (cmd: string, args: string[]) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], detached: true });
    started.push(child);
    return child;
  };
  const cairnd = (port: number, backend: string[]) =>
    spawnGroup(process.execPath, [
      join(appliance, 'bin', 'cairnd.js'),
      'nfs-serve',
      ...backend,
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--log-level',
      'warn',
      '--fh-secret',
      join(work, `fh-${port}.secret`),
    ]);
  try {
    const g = spawnGroup('unshare', ['-m', '--propagation', 'private', 'bash', join(appliance, 'bench', 'ganesha-ns.sh'), conf, join(work, 'ganesha.log')]);
    const c = cairnd(CAIRN_PORT, ['--backend', 'gfapi', '--volume', 'gv', '--volfile-server', host]);
    const p = cairnd(POSIX_PORT, ['--backend', 'posix', '--dir', join(work, 'posix')]);
    await waitFor('ganesha', g, [GANESHA_PORT, GANESHA_MNT]);
    await waitFor('cairnd gfapi', c, [CAIRN_PORT]);
    await waitFor('cairnd posix', p, [POSIX_PORT]);
    // FACTS.md: Ganesha's NFSv3 MOUNT path is the export's Path.
    const gres = await runCases({ name: 'ganesha', port: GANESHA_PORT, mountPort: GANESHA_MNT, mountPath: '/gv', base: BASE.ganesha }, only);
    const cres = await runCases({ name: 'cairn', port: CAIRN_PORT, mountPort: CAIRN_PORT, mountPath: '/export', base: BASE.cairn }, only);
    const pres = await runCases({ name: 'posix', port: POSIX_PORT, mountPort: POSIX_PORT, mountPath: '/export', base: BASE.posix }, only);
    const n = compare(
      [
        ['ganesha-gluster', gres],
        ['cairn-gfapi', cres],
        ['cairn-posix', pres],
      ],
      all,
    );
    process.stdout.write(`\n${n} difference(s)\n`);
    return 0;
  } finally {
    for (const child of started) await stop(child);
  }
}

/**
 * --gluster, outside: the lab (glusterd, three loop bricks, a replica-3
 * volume "gv"), each server's directory, the harness re-run inside the
 * lab's namespace; the lab's teardown (also on failure) kills whatever is
 * left there by pid and removes bricks, namespace and directory.
 */
async function outerGluster(only: string | undefined, all: boolean, vm: boolean): Promise<number> {
  const cleanups: Array<() => Promise<unknown>> = [];
  // GlusterLab registers its teardown through t.after.
  const ctx = { after: (fn: () => Promise<unknown>) => cleanups.push(fn) } as unknown as TestContext;
  const work = await mkdtemp('/var/tmp/cairn-nfs-diff-');
  let child: ChildProcess | undefined;
  const interrupt = () => child?.kill('SIGKILL');
  process.once('SIGINT', interrupt).once('SIGTERM', interrupt);
  try {
    await chmod(work, 0o755);
    await mkdir(join(work, 'posix', BASE.posix), { recursive: true });
    await chmod(join(work, 'posix'), 0o755);
    await chmod(join(work, 'posix', BASE.posix), 0o755);
    const lab = await GlusterLab.start(ctx);
    await replica3(lab, 'gv', 1 << 30, vm ? 'vm' : 'general');
    const b = await openGfapiBackend({ volume: 'gv', volfileServer: lab.host });
    const root = await b.root();
    const sys = { uid: 0, gid: 0, gids: [] };
    for (const name of [BASE.ganesha, BASE.cairn]) await b.mkdir(sys, root, name, { mode: 0o755 });
    const args = [fileURLToPath(import.meta.url), '--inner', work, '--gluster-host', lab.host, ...(only ? ['--only', only] : []), ...(all ? ['--all'] : [])];
    child = spawn('ip', ['netns', 'exec', lab.netns, process.execPath, ...args], { stdio: 'inherit' });
    const [code] = (await once(child, 'exit')) as [number | null];
    return code ?? 1;
  } finally {
    process.off('SIGINT', interrupt).off('SIGTERM', interrupt);
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      inner: { type: 'string' },
      only: { type: 'string' },
      all: { type: 'boolean' },
      keep: { type: 'boolean' },
      gluster: { type: 'boolean' },
      vm: { type: 'boolean' },
      'gluster-host': { type: 'string' },
    },
  });
  const all = values.all ?? false;
  if (values.inner && values['gluster-host']) process.exitCode = await innerGluster(values.inner, values['gluster-host'], values.only, all);
  else if (values.inner) process.exitCode = await inner(values.inner, values.only, all);
  else if (values.gluster) {
    process.exitCode = await outerGluster(values.only, all, values.vm ?? false);
    // This process's glfs_t would keep it alive (glfs_fini takes 10 s).
    process.exit();
  } else process.exitCode = await outer(values.only, all, values.keep ?? false);
}

await main();
