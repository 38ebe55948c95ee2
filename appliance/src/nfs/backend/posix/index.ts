/**
 * The posix backend: a local directory served through the native module
 * (native/src/posix_backend.rs). This file only adapts types — bigint
 * offsets, the contract's unions, the packed result records — every call
 * is one native task on a libuv worker thread.
 *
 * Calls that cannot wait for the disk (objects in the fd cache, names in
 * the dentry cache, data in the page cache) run at once on the event loop
 * through the native try* methods; the rest go to a worker thread.
 *
 * Sizing: each in-flight async call holds one libuv worker for its duration;
 * set UV_THREADPOOL_SIZE (before the first async call of the process)
 * to the concurrency wanted, e.g. 16 for a server.
 */
import { isUtf8 } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { openPosixExport, tuneMallocForIo, type JsSetAttrs, type PosixExport } from '@cairn/native';
import type {
  Attrs,
  Backend,
  CreateHow,
  Cred,
  DirEntry,
  EntryResult,
  FsInfo,
  FsStat,
  Name,
  ReadDirResult,
  ReadDirXdrArgs,
  SetAttrs,
  StableHow,
  Time,
  Wcc,
  WireHandleKey,
} from '../backend.js';
import { ResultRecord } from './decode.js';

export interface PosixBackendOptions {
  /** Open objects kept in the fd cache (default 4096). */
  fdCacheSize?: number;
  /**
   * Reads (and unstable writes) up to this many bytes are first tried on
   * the event loop, from the page cache (default 128 KiB; 0 = never).
   * Larger copies go to a worker, beside the event loop.
   */
  syncIoMax?: number;
  /**
   * Keep freed 1 MiB I/O buffers in the process's malloc heap instead of
   * returning them to the kernel (native tuneMallocForIo; process-wide,
   * default true): a third less CPU per GiB read in measurements.
   */
  tuneMalloc?: boolean;
}

/** FSINFO rtmax/wtmax: the native side refuses larger calls. */
export const POSIX_MAX_IO = 1 << 20;

const STABLE: Record<StableHow, number> = { unstable: 0, data_sync: 1, file_sync: 2 };
const STABLE_OF: StableHow[] = ['unstable', 'data_sync', 'file_sync'];
const NO_VERIFIER = Buffer.alloc(8);
/**
 * Reads and unstable writes up to this size are first tried on the event
 * loop from/into the page cache (the native try* calls never wait for the
 * disk): cheaper than a worker round trip.
 */
const SYNC_IO_MAX = 128 * 1024;

/**
 * READ buffers: the caller owns what READ returns (it goes onto the socket
 * without a copy), so buffers cannot be reused; but small ones are carved
 * from 256 KiB slabs rather than each being its own allocation, which is
 * what a 4 KiB random read would otherwise pay for (malloc, external-memory
 * accounting, a finalizer). A slab is freed once all its slices are.
 */
class ReadSlab {
  private static readonly SIZE = 256 * 1024;
  private slab = Buffer.allocUnsafeSlow(ReadSlab.SIZE);
  private used = 0;

  take(n: number): Buffer {
    if (n > ReadSlab.SIZE / 8) return Buffer.allocUnsafe(n);
    if (this.used + n > ReadSlab.SIZE) {
      this.slab = Buffer.allocUnsafeSlow(ReadSlab.SIZE);
      this.used = 0;
    }
    const b = this.slab.subarray(this.used, this.used + n);
    this.used += (n + 63) & ~63;
    return b;
  }
}

function jsSet(s: SetAttrs): JsSetAttrs {
  const out: JsSetAttrs = {};
  if (s.mode !== undefined) out.mode = s.mode;
  if (s.uid !== undefined) out.uid = s.uid;
  if (s.gid !== undefined) out.gid = s.gid;
  if (s.size !== undefined) out.size = s.size;
  if (s.atime === 'server') out.atimeNow = true;
  else if (s.atime) (out.atimeSec = s.atime.sec), (out.atimeNsec = s.atime.nsec);
  if (s.mtime === 'server') out.mtimeNow = true;
  else if (s.mtime) (out.mtimeSec = s.mtime.sec), (out.mtimeNsec = s.mtime.nsec);
  return out;
}

function entry(rec: ResultRecord): EntryResult {
  const handle = rec.handle();
  const attrs = rec.attrs();
  return { handle, attrs, dir: rec.wcc() };
}

class PosixBackend implements Backend {
  readonly kind = 'posix';
  /** Names are bytes end to end (filename3 is opaque): Buffers for names that are not UTF-8. */
  readonly rawNames = true;
  readonly writeVerifier = randomBytes(8);
  private readonly rootHandle: Buffer;
  private readonly slab = new ReadSlab();

  constructor(
    private readonly ex: PosixExport,
    private readonly syncIoMax: number,
  ) {
    this.rootHandle = ex.rootHandle;
  }

  async root(): Promise<Buffer> {
    return this.rootHandle;
  }

  async getattr(handle: Buffer): Promise<Attrs> {
    return new ResultRecord(this.ex.tryGetattr(handle) ?? (await this.ex.getattr(handle))).attrs();
  }

  async setattr(cred: Cred, handle: Buffer, set: SetAttrs, guardCtime?: Time): Promise<Wcc> {
    const guard = guardCtime ? [guardCtime.sec, guardCtime.nsec] : undefined;
    const js = jsSet(set);
    const rec = this.ex.trySetattr(cred.uid, cred.gid, cred.gids, handle, js, guard) ?? (await this.ex.setattr(cred.uid, cred.gid, cred.gids, handle, js, guard));
    return new ResultRecord(rec).wcc();
  }

  async lookup(cred: Cred, dir: Buffer, name: Name): Promise<EntryResult> {
    const rec = this.ex.tryLookup(cred.uid, cred.gid, cred.gids, dir, name) ?? (await this.ex.lookup(cred.uid, cred.gid, cred.gids, dir, name));
    return entry(new ResultRecord(rec));
  }

  async access(cred: Cred, handle: Buffer, mask: number): Promise<{ granted: number; attrs: Attrs }> {
    const rec = new ResultRecord(
      this.ex.tryAccess(cred.uid, cred.gid, cred.gids, handle, mask) ?? (await this.ex.access(cred.uid, cred.gid, cred.gids, handle, mask)),
    );
    const granted = rec.u32();
    return { granted, attrs: rec.attrs() };
  }

  async readlink(_cred: Cred, handle: Buffer): Promise<{ target: string; attrs: Attrs }> {
    const rec = new ResultRecord(await this.ex.readlink(handle));
    const target = rec.str();
    return { target, attrs: rec.attrs() };
  }

  async read(cred: Cred, handle: Buffer, offset: bigint, count: number, lent?: Buffer): Promise<{ data: Buffer; eof: boolean; attrs: Attrs }> {
    // The native side preads straight into this Buffer (the caller's, when
    // it lent one big enough), which then goes to the caller (and onto the
    // socket) without another copy.
    const want = Math.max(0, Math.min(count, POSIX_MAX_IO));
    const into = lent && lent.length >= want ? lent.subarray(0, want) : this.slab.take(want);
    const fast = into.length <= this.syncIoMax ? this.ex.tryRead(cred.uid, cred.gid, cred.gids, handle, offset, into) : null;
    const rec = new ResultRecord(fast ?? (await this.ex.read(cred.uid, cred.gid, cred.gids, handle, offset, into)));
    const n = rec.u32();
    const eof = rec.u8() === 1;
    return { data: n === into.length ? into : into.subarray(0, n), eof, attrs: rec.attrs() };
  }

  async write(cred: Cred, handle: Buffer, offset: bigint, data: Buffer, stable: StableHow): Promise<{ count: number; committed: StableHow; file: Wcc }> {
    const fast = stable === 'unstable' && data.length <= this.syncIoMax ? this.ex.tryWrite(cred.uid, cred.gid, cred.gids, handle, offset, data) : null;
    const rec = new ResultRecord(fast ?? (await this.ex.write(cred.uid, cred.gid, cred.gids, handle, offset, data, STABLE[stable])));
    const count = rec.u32();
    const committed = STABLE_OF[rec.u8()] ?? 'file_sync';
    return { count, committed, file: rec.wcc() };
  }

  async commit(_cred: Cred, handle: Buffer, _offset: bigint, _count: number): Promise<Wcc> {
    return new ResultRecord(await this.ex.commit(handle)).wcc();
  }

  async create(cred: Cred, dir: Buffer, name: Name, how: CreateHow): Promise<EntryResult> {
    const rec =
      how.mode === 'exclusive'
        ? await this.ex.create(cred.uid, cred.gid, cred.gids, dir, name, 2, {}, how.verifier)
        : await this.ex.create(cred.uid, cred.gid, cred.gids, dir, name, how.mode === 'guarded' ? 1 : 0, jsSet(how.attrs));
    return entry(new ResultRecord(rec));
  }

  async mkdir(cred: Cred, dir: Buffer, name: Name, attrs: SetAttrs): Promise<EntryResult> {
    return entry(new ResultRecord(await this.ex.mkdir(cred.uid, cred.gid, cred.gids, dir, name, jsSet(attrs))));
  }

  async symlink(cred: Cred, dir: Buffer, name: Name, target: string, attrs: SetAttrs): Promise<EntryResult> {
    return entry(new ResultRecord(await this.ex.symlink(cred.uid, cred.gid, cred.gids, dir, name, target, jsSet(attrs))));
  }

  async mknod(
    cred: Cred,
    dir: Buffer,
    name: Name,
    type: 'blk' | 'chr' | 'sock' | 'fifo',
    attrs: SetAttrs,
    rdev?: { major: number; minor: number },
  ): Promise<EntryResult> {
    const rec = await this.ex.mknod(cred.uid, cred.gid, cred.gids, dir, name, type, jsSet(attrs), rdev?.major ?? 0, rdev?.minor ?? 0);
    return entry(new ResultRecord(rec));
  }

  async remove(cred: Cred, dir: Buffer, name: Name): Promise<Wcc> {
    return new ResultRecord(await this.ex.remove(cred.uid, cred.gid, cred.gids, dir, name)).wcc();
  }

  async rmdir(cred: Cred, dir: Buffer, name: Name): Promise<Wcc> {
    return new ResultRecord(await this.ex.rmdir(cred.uid, cred.gid, cred.gids, dir, name)).wcc();
  }

  async rename(cred: Cred, fromDir: Buffer, fromName: Name, toDir: Buffer, toName: Name): Promise<{ from: Wcc; to: Wcc }> {
    const rec = new ResultRecord(await this.ex.rename(cred.uid, cred.gid, cred.gids, fromDir, fromName, toDir, toName));
    const from = rec.wcc();
    return { from, to: rec.wcc() };
  }

  async link(cred: Cred, handle: Buffer, dir: Buffer, name: Name): Promise<{ attrs: Attrs; dir: Wcc }> {
    const rec = new ResultRecord(await this.ex.link(cred.uid, cred.gid, cred.gids, handle, dir, name));
    const attrs = rec.attrs();
    return { attrs, dir: rec.wcc() };
  }

  async readdir(cred: Cred, dir: Buffer, cookie: bigint, verifier: Buffer, maxEntries: number, plus: boolean): Promise<ReadDirResult> {
    const verf = verifier.length === 8 ? verifier : NO_VERIFIER;
    const rec = new ResultRecord(await this.ex.readdir(cred.uid, cred.gid, cred.gids, dir, cookie, verf, Math.max(1, maxEntries), plus));
    const newVerf = Buffer.from(rec.bytes(8));
    const eof = rec.u8() === 1;
    const dirAttrs = rec.optAttrs();
    const n = rec.u32();
    const entries: DirEntry[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const fileid = rec.u64();
      const c = rec.u64();
      const raw = rec.bytes(rec.u32());
      const e: DirEntry = { name: raw.toString('utf8'), fileid, cookie: c };
      if (!isUtf8(raw)) e.nameBytes = Buffer.from(raw);
      if (plus && rec.u8() === 1) {
        e.handle = rec.handle();
        e.attrs = rec.attrs();
      }
      entries[i] = e;
    }
    return { entries, eof, verifier: newVerf, dirAttrs };
  }

  /** One native task builds the whole XDR reply (native/src/posix_backend/xdr_dir.rs). */
  async readdirXdr(cred: Cred, dir: Buffer, a: ReadDirXdrArgs, fh: WireHandleKey): Promise<Buffer> {
    const verf = a.verifier.length === 8 ? a.verifier : NO_VERIFIER;
    return this.ex.readdirXdr(cred.uid, cred.gid, cred.gids, dir, a.cookie, verf, a.dircount >>> 0, a.maxcount >>> 0, a.plus, fh.exportId >>> 0, fh.secret);
  }

  async fsstat(handle: Buffer): Promise<FsStat> {
    const rec = new ResultRecord(await this.ex.fsstat(handle));
    return {
      totalBytes: rec.u64(),
      freeBytes: rec.u64(),
      availBytes: rec.u64(),
      totalFiles: rec.u64(),
      freeFiles: rec.u64(),
      availFiles: rec.u64(),
    };
  }

  async fsinfo(handle: Buffer): Promise<FsInfo> {
    const rec = new ResultRecord(await this.ex.fsinfo(handle));
    const nameMax = rec.u32();
    const linkMax = rec.u32();
    return {
      maxRead: POSIX_MAX_IO,
      maxWrite: POSIX_MAX_IO,
      maxFileSize: 0x7fff_ffff_ffff_ffffn,
      linkMax,
      nameMax,
      timeDelta: { sec: 0, nsec: 1 },
      caseInsensitive: false,
      casePreserving: true,
      chownRestricted: true,
      noTrunc: true,
      symlinks: true,
      hardlinks: true,
    };
  }

  async close(): Promise<void> {
    this.ex.close();
  }
}

/** Serves `dir` (a directory; the process needs CAP_DAC_READ_SEARCH, i.e. root). */
export async function openPosixBackend(dir: string, opts: PosixBackendOptions = {}): Promise<Backend> {
  if (opts.tuneMalloc ?? true) tuneMallocForIo();
  const env = Number(process.env.CAIRN_POSIX_SYNC_IO_MAX);
  const syncIoMax = opts.syncIoMax ?? (Number.isFinite(env) && process.env.CAIRN_POSIX_SYNC_IO_MAX ? env : SYNC_IO_MAX);
  return new PosixBackend(await openPosixExport(dir, opts.fdCacheSize), syncIoMax);
}
