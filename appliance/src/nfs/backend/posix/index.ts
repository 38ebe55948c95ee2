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
import { openPosixExport, tuneMallocForIo, type JsSetAttrs, type PosixExport } from '@cairn/native';
import {
  ACCESS,
  nameOf,
  type Attrs,
  type Backend,
  type CreateHow,
  type DirectRead,
  type DirectSender,
  type Cred,
  type DirEntry,
  type EntryResult,
  type FsInfo,
  type FsStat,
  type Name,
  type ReadDirResult,
  type ReadDirXdrArgs,
  type SetAttrs,
  type StableHow,
  type Time,
  type Wcc,
  type WireHandleKey,
} from '../backend.js';
import { startSweeper } from '../sweeper.js';
import { WriteVerifier } from '../write-verifier.js';
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
  /**
   * How often the fd cache lets go of files deleted outside this server
   * (by SMB, a shell, another NFS server), so their space is freed: an open
   * fd keeps a deleted file's blocks (default 2000 ms, as knfsd's open-file
   * cache; 0 = never).
   */
  sweepMs?: number;
}

/** What the posix sender needs of each of its reads. */
interface PosixDirectRead extends DirectRead {
  handle: Buffer;
  offset: bigint;
}

/** FSINFO rtmax/wtmax: the native side refuses larger calls. */
export const POSIX_MAX_IO = 1 << 20;

const STABLE: Record<StableHow, number> = { unstable: 0, data_sync: 1, file_sync: 2 };
const STABLE_OF: StableHow[] = ['unstable', 'data_sync', 'file_sync'];
const NO_VERIFIER = Buffer.alloc(8);
/** Who lists a directory for a caller that may read it but not search it (listsAsReader). */
const ROOT: Cred = { uid: 0, gid: 0, gids: [] };
/**
 * Reads and unstable writes up to this size are first tried on the event
 * loop from/into the page cache (the native try* calls never wait for the
 * disk): cheaper than a worker round trip.
 */
const SYNC_IO_MAX = 128 * 1024;

/** A page read ahead is served only this soon after it was started (ms). */
const READ_AHEAD_MS = 250;
/** Pages read ahead kept at once (one per directory being listed). */
const READ_AHEAD_MAX = 8;

function aheadKey(cred: Cred, dir: Buffer, a: ReadDirXdrArgs, fh: WireHandleKey): string {
  return `${cred.uid}:${cred.gid}:${cred.gids.join(',')}|${fh.exportId}|${dir.toString('latin1')}|${a.cookie}|${a.dircount}|${a.maxcount}|${a.plus}`;
}

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
  private readonly verifier = new WriteVerifier();
  /** In WRITE and COMMIT replies; a new one after an error that may have lost data (write-verifier.ts). */
  get writeVerifier(): Buffer {
    return this.verifier.current;
  }
  private readonly rootHandle: Buffer;
  private readonly slab = new ReadSlab();
  /**
   * Where the non-blocking native calls leave their record (try_*, see
   * backend_task.rs): read at once, before anything else can call again.
   */
  private readonly out = Buffer.allocUnsafeSlow(4096);
  /** READDIR(PLUS) pages read ahead (readdirXdr), by aheadKey. */
  private readonly ahead = new Map<string, { at: number; page: Promise<Buffer | undefined> }>();

  /** Lets go of cached fds of files deleted behind this server's back. */
  private readonly sweeper?: NodeJS.Timeout;

  constructor(
    private readonly ex: PosixExport,
    private readonly syncIoMax: number,
    sweepMs: number,
  ) {
    this.rootHandle = ex.rootHandle;
    if (sweepMs > 0) this.sweeper = startSweeper(sweepMs, () => ex.sweep());
  }

  private outRecord(): ResultRecord {
    return new ResultRecord(this.out);
  }

  async root(): Promise<Buffer> {
    return this.rootHandle;
  }

  async getattr(handle: Buffer): Promise<Attrs> {
    return (this.ex.tryGetattr(handle, this.out) >= 0 ? this.outRecord() : new ResultRecord(await this.ex.getattr(handle))).attrs();
  }

  async setattr(cred: Cred, handle: Buffer, set: SetAttrs, guardCtime?: Time): Promise<Wcc> {
    this.changed();
    const guard = guardCtime ? [guardCtime.sec, guardCtime.nsec] : undefined;
    const js = jsSet(set);
    const fast = this.ex.trySetattr(cred.uid, cred.gid, cred.gids, handle, js, guard, this.out) >= 0;
    return (fast ? this.outRecord() : new ResultRecord(await this.ex.setattr(cred.uid, cred.gid, cred.gids, handle, js, guard))).wcc();
  }

  async lookup(cred: Cred, dir: Buffer, name: Name): Promise<EntryResult> {
    const fast = this.ex.tryLookup(cred.uid, cred.gid, cred.gids, dir, name, this.out) >= 0;
    return entry(fast ? this.outRecord() : new ResultRecord(await this.ex.lookup(cred.uid, cred.gid, cred.gids, dir, name)));
  }

  async access(cred: Cred, handle: Buffer, mask: number): Promise<{ granted: number; attrs: Attrs }> {
    const fast = this.ex.tryAccess(cred.uid, cred.gid, cred.gids, handle, mask, this.out) >= 0;
    const rec = fast ? this.outRecord() : new ResultRecord(await this.ex.access(cred.uid, cred.gid, cred.gids, handle, mask));
    const granted = rec.u32();
    return { granted, attrs: rec.attrs() };
  }

  async readlink(_cred: Cred, handle: Buffer): Promise<{ target: Name; attrs: Attrs }> {
    const rec = new ResultRecord(await this.ex.readlink(handle));
    const target = nameOf(rec.bytes(rec.u32()));
    return { target, attrs: rec.attrs() };
  }

  async read(cred: Cred, handle: Buffer, offset: bigint, count: number, lent?: Buffer): Promise<{ data: Buffer; eof: boolean; attrs: Attrs }> {
    // The native side preads straight into this Buffer (the caller's, when
    // it lent one big enough), which then goes to the caller (and onto the
    // socket) without another copy.
    const want = Math.max(0, Math.min(count, POSIX_MAX_IO));
    const into = lent && lent.length >= want ? lent.subarray(0, want) : this.slab.take(want);
    const fast = into.length <= this.syncIoMax && this.ex.tryRead(cred.uid, cred.gid, cred.gids, handle, offset, into, this.out) >= 0;
    const rec = fast ? this.outRecord() : new ResultRecord(await this.ex.read(cred.uid, cred.gid, cred.gids, handle, offset, into));
    const n = rec.u32();
    const eof = rec.u8() === 1;
    return { data: n === into.length ? into : into.subarray(0, n), eof, attrs: rec.attrs() };
  }

  readDirect(cred: Cred, handle: Buffer, offset: bigint, count: number): DirectRead | undefined {
    if (this.ex.tryReadPlan(cred.uid, cred.gid, cred.gids, handle, offset, Math.min(count, POSIX_MAX_IO), this.out) < 0) return undefined;
    const rec = this.outRecord();
    const n = rec.u32();
    const eof = rec.u8() === 1;
    const attrs = rec.attrs();
    const read: PosixDirectRead = {
      count: n,
      eof,
      attrs,
      handle,
      offset,
      fill: async (into) => {
        const got = new ResultRecord(await this.ex.readPlanned(handle, offset, into.subarray(0, n))).u32();
        into.fill(0, got, n);
      },
      sender: this.sender,
    };
    return read;
  }

  private readonly sender: DirectSender = {
    sendAll: async (fd, parts) => {
      const js = parts.map(({ read, head, tail, spill }) => {
        const r = read as PosixDirectRead;
        return { handle: r.handle, head, offset: r.offset, count: r.count, tail, spill };
      });
      const rec = new ResultRecord(await this.ex.sendReads(fd, js));
      return { index: rec.u32(), left: rec.u32() };
    },
  };

  async write(cred: Cred, handle: Buffer, offset: bigint, data: Buffer, stable: StableHow): Promise<{ count: number; committed: StableHow; file: Wcc }> {
    this.changed();
    const fast = stable === 'unstable' && data.length <= this.syncIoMax && this.ex.tryWrite(cred.uid, cred.gid, cred.gids, handle, offset, data, this.out) >= 0;
    const rec = fast
      ? this.outRecord()
      : new ResultRecord(await this.ex.write(cred.uid, cred.gid, cred.gids, handle, offset, data, STABLE[stable]).catch((e: unknown) => this.verifier.failed(e)));
    const count = rec.u32();
    const committed = STABLE_OF[rec.u8()] ?? 'file_sync';
    return { count, committed, file: rec.wcc() };
  }

  async commit(_cred: Cred, handle: Buffer, _offset: bigint, _count: number): Promise<Wcc> {
    return new ResultRecord(await this.ex.commit(handle).catch((e: unknown) => this.verifier.failed(e))).wcc();
  }

  async create(cred: Cred, dir: Buffer, name: Name, how: CreateHow): Promise<EntryResult> {
    this.changed();
    const rec =
      how.mode === 'exclusive'
        ? await this.ex.create(cred.uid, cred.gid, cred.gids, dir, name, 2, {}, how.verifier)
        : await this.ex.create(cred.uid, cred.gid, cred.gids, dir, name, how.mode === 'guarded' ? 1 : 0, jsSet(how.attrs));
    return entry(new ResultRecord(rec));
  }

  async mkdir(cred: Cred, dir: Buffer, name: Name, attrs: SetAttrs): Promise<EntryResult> {
    this.changed();
    return entry(new ResultRecord(await this.ex.mkdir(cred.uid, cred.gid, cred.gids, dir, name, jsSet(attrs))));
  }

  async symlink(cred: Cred, dir: Buffer, name: Name, target: Name, attrs: SetAttrs): Promise<EntryResult> {
    this.changed();
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
    this.changed();
    const rec = await this.ex.mknod(cred.uid, cred.gid, cred.gids, dir, name, type, jsSet(attrs), rdev?.major ?? 0, rdev?.minor ?? 0);
    return entry(new ResultRecord(rec));
  }

  async remove(cred: Cred, dir: Buffer, name: Name): Promise<Wcc> {
    this.changed();
    return new ResultRecord(await this.ex.remove(cred.uid, cred.gid, cred.gids, dir, name)).wcc();
  }

  async rmdir(cred: Cred, dir: Buffer, name: Name): Promise<Wcc> {
    this.changed();
    return new ResultRecord(await this.ex.rmdir(cred.uid, cred.gid, cred.gids, dir, name)).wcc();
  }

  async rename(cred: Cred, fromDir: Buffer, fromName: Name, toDir: Buffer, toName: Name): Promise<{ from: Wcc; to: Wcc }> {
    this.changed();
    const rec = new ResultRecord(await this.ex.rename(cred.uid, cred.gid, cred.gids, fromDir, fromName, toDir, toName));
    const from = rec.wcc();
    return { from, to: rec.wcc() };
  }

  async link(cred: Cred, handle: Buffer, dir: Buffer, name: Name): Promise<{ attrs: Attrs; dir: Wcc }> {
    this.changed();
    const rec = new ResultRecord(await this.ex.link(cred.uid, cred.gid, cred.gids, handle, dir, name));
    const attrs = rec.attrs();
    return { attrs, dir: rec.wcc() };
  }

  async readdir(cred: Cred, dir: Buffer, cookie: bigint, verifier: Buffer, maxEntries: number, plus: boolean): Promise<ReadDirResult> {
    // A zero verifier with a cookie is taken for the directory's (native resumes()).
    const max = Math.max(1, maxEntries);
    let rec: ResultRecord;
    try {
      rec = new ResultRecord(await this.ex.readdir(cred.uid, cred.gid, cred.gids, dir, cookie, verifier, max, plus));
    } catch (e) {
      if (!(await this.listsAsReader(cred, dir, e))) throw e;
      plus = false;
      rec = new ResultRecord(await this.ex.readdir(ROOT.uid, ROOT.gid, ROOT.gids, dir, cookie, verifier, max, false));
    }
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

  /**
   * One native task builds the whole XDR reply (native/src/posix_backend/
   * xdr_dir.rs). Clients list a directory one page at a time, asking for
   * the next page only once they have this one: so the next page is read
   * ahead at once, on a worker, and the call that asks for it is answered
   * without waiting for a worker round trip. A page read ahead is only
   * served if it is asked for within READ_AHEAD_MS, with the same
   * arguments and credentials, nothing was changed through this backend
   * meanwhile, and the directory's mtime and ctime are still those in the
   * page — else it is read again. Its entries' attributes are thus at most
   * READ_AHEAD_MS old (clients cache attributes for seconds).
   */
  async readdirXdr(cred: Cred, dir: Buffer, a: ReadDirXdrArgs, fh: WireHandleKey): Promise<Buffer | undefined> {
    const key = aheadKey(cred, dir, a, fh);
    const ahead = this.ahead.get(key);
    let page: Buffer | undefined;
    if (ahead) {
      this.ahead.delete(key);
      if (performance.now() - ahead.at <= READ_AHEAD_MS) {
        const p = await ahead.page;
        if (p && this.stillFresh(p, dir, a.verifier, a.cookie)) page = p;
      }
    }
    if (!page) {
      try {
        page = await this.ex.readdirXdr(cred.uid, cred.gid, cred.gids, dir, a.cookie, a.verifier, a.dircount >>> 0, a.maxcount >>> 0, a.plus, fh.exportId >>> 0, fh.secret);
      } catch (e) {
        // Served through `readdir`, which lists it by name only.
        if (await this.listsAsReader(cred, dir, e)) return undefined;
        throw e;
      }
    }
    this.readAhead(cred, dir, a, fh, page);
    // The native result ends with the next page's cookie, not part of the XDR.
    return page.subarray(0, page.length - 8);
  }

  /**
   * Whether `err`, from listing `dir` as `cred`, is only the native side's
   * want of search permission, and the directory is then listed as root,
   * by name only. Reading a directory needs read permission alone
   * (readdir(3); knfsd's nfsd_readdir opens it with NFSD_MAY_READ), but the
   * native side opens it by the name "." under its fd, which needs search
   * (x) permission too: a 0744 directory was refused to everyone but its
   * owner. Attributes and handles of the entries need search permission
   * (a handle opens an object without the path), so such a caller gets
   * names only, as from knfsd; the DAC check is the caller's own.
   */
  private async listsAsReader(cred: Cred, dir: Buffer, err: unknown): Promise<boolean> {
    if ((err as { code?: unknown } | null)?.code !== 'EACCES' || cred.uid === ROOT.uid) return false;
    const { granted } = await this.access(cred, dir, ACCESS.READ | ACCESS.LOOKUP);
    return granted === ACCESS.READ;
  }

  /** Starts reading the page after `page` (READDIR3res + resume cookie), unless it was the last. */
  private readAhead(cred: Cred, dir: Buffer, a: ReadDirXdrArgs, fh: WireHandleKey, page: Buffer): void {
    const xdrEnd = page.length - 8;
    if (page.readUInt32BE(0) !== 0 || page.readUInt32BE(xdrEnd - 4) === 1 || page.readUInt32BE(4) !== 1) return;
    const cookie = page.readBigUInt64LE(xdrEnd);
    if (cookie === a.cookie) return;
    const verifier = page.subarray(8 + 84, 8 + 84 + 8);
    const next: ReadDirXdrArgs = { ...a, cookie, verifier };
    if (this.ahead.size >= READ_AHEAD_MAX) this.ahead.delete(this.ahead.keys().next().value as string);
    const p = this.ex
      .readdirXdr(cred.uid, cred.gid, cred.gids, dir, cookie, verifier, a.dircount >>> 0, a.maxcount >>> 0, a.plus, fh.exportId >>> 0, fh.secret)
      .catch(() => undefined);
    this.ahead.set(aheadKey(cred, dir, next, fh), { at: performance.now(), page: p });
  }

  /**
   * A page read ahead still answers a call: OK, the verifier the caller
   * sent (RFC 1813 §3.3.17) and the directory's mtime and ctime unchanged
   * (from the fd cache, without waiting; unknown = not fresh).
   */
  private stillFresh(page: Buffer, dir: Buffer, verf: Buffer, cookie: bigint): boolean {
    if (page.readUInt32BE(0) !== 0 || page.readUInt32BE(4) !== 1) return false;
    if (cookie !== 0n && !verf.equals(NO_VERIFIER) && !verf.equals(page.subarray(8 + 84, 8 + 84 + 8))) return false;
    if (this.ex.tryGetattr(dir, this.out) < 0) return false;
    const now = this.out;
    // Record (decode.ts, LE): mtime at 64, ctime at 72; fattr3 (XDR, BE) at 8: mtime at 68, ctime at 76.
    for (const [rec, xdr] of [
      [64, 8 + 68],
      [68, 8 + 72],
      [72, 8 + 76],
      [76, 8 + 80],
    ] as const) {
      if (now.readUInt32LE(rec) !== page.readUInt32BE(xdr)) return false;
    }
    return true;
  }

  /** A change through this backend: pages read ahead may show what it changed. */
  private changed(): void {
    if (this.ahead.size > 0) this.ahead.clear();
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
    clearInterval(this.sweeper);
    this.ahead.clear();
    this.ex.close();
  }
}

/** Serves `dir` (a directory; the process needs CAP_DAC_READ_SEARCH, i.e. root). */
export async function openPosixBackend(dir: string, opts: PosixBackendOptions = {}): Promise<Backend> {
  if (opts.tuneMalloc ?? true) tuneMallocForIo();
  const env = Number(process.env.CAIRN_POSIX_SYNC_IO_MAX);
  const syncIoMax = opts.syncIoMax ?? (Number.isFinite(env) && process.env.CAIRN_POSIX_SYNC_IO_MAX ? env : SYNC_IO_MAX);
  return new PosixBackend(await openPosixExport(dir, opts.fdCacheSize), syncIoMax, opts.sweepMs ?? 2000);
}
