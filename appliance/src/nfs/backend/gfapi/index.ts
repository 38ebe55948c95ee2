/**
 * The gfapi backend: a Gluster volume served through libgfapi's handle
 * API (native `GfapiVolume`), no FUSE anywhere.
 *
 * Handles (33 bytes, within MAX_BACKEND_HANDLE):
 *
 *     byte 0      version (1)
 *     bytes 1–16  the volume's UUID
 *     bytes 17–32 the object's GFID
 *
 * A GFID names the same object on every client of the volume for its
 * whole life, so handles survive cairnd restarts and stay valid on every
 * appliance that serves the volume (failover needs no remount). A handle
 * of another volume or of the wrong shape is EBADHANDLE; a GFID that no
 * longer exists is ESTALE (native side).
 *
 * One `glfs_t` per volume, opened once by `openGfapiBackend` and kept:
 * `glfs_fini` takes ~10 s (gluster issue 2606), so `close()` only drops
 * our reference and the native side finishes it on a thread of its own.
 *
 * Credentials: every call runs on its worker thread as the caller
 * (glfs_setfsuid/gid/groups), so the bricks enforce permissions. Reads
 * and writes use a cached fd per file, opened as root; for callers other
 * than root the native side checks access (glfs_h_access) first.
 *
 * What the native side keeps between calls, so that one NFS call costs
 * about one round trip to the bricks (native/src/gfapi.rs has the rules;
 * test/nfs/backend/gfapi-cache.test.ts the coherence checks): directory
 * objects per GFID; open fds per file; READDIR streams parked where a
 * page stopped; for 1 s (md-cache's own timeout, so nothing later than a
 * stat through the client stack would be) the attributes the volume last
 * reported and the names found to be directories. Every change made
 * through this process drops what it touched at once. A GETATTR, a
 * LOOKUP of a directory name or an ACCESS that this alone answers is
 * answered on the JS thread (statCached, lookupCached, accessCached),
 * without a task's two thread hand-offs: measured, those were most of a
 * cached GETATTR's cost.
 * `CAIRN_GFAPI_STATS=FILE` appends the counters (gfapiStats) to FILE
 * every 200 ms: `npm run bench:gluster -- --profile` reads them.
 *
 * READ and WRITE are blocking libgfapi calls on libuv's workers (64 on
 * the appliance). A file's UNSTABLE writes over 128 KiB (a client's
 * stream) run one 1 MiB window at a time, back to back on one worker,
 * contiguous ones joined up to 2 MiB (native/src/write_queue.rs). A
 * stable WRITE is one write with O_SYNC/O_DSYNC (the bricks fsync it);
 * COMMIT fsyncs only what no finished fsync covered (native/src/dirty.rs).
 * `CAIRN_GFAPI_ASYNC=1` makes READ into the server's
 * buffer and UNSTABLE WRITE to a cached fd async calls started on the JS
 * thread (native/src/gfapi_aio.rs), off by default: libgfapi 10.3
 * releases the wrong fd when a graph switch (a brick move) meets an
 * async call in flight, and the process crashes later.
 */
import { appendFileSync } from 'node:fs';
import { gfapiStats, openGfapiVolume, tuneMallocForIo, type GfapiVolume, type GfCred, type GfEntry, type GfStat } from '@cairn/native';
import {
  ACCESS,
  fileTypeOfMode,
  nameOf,
  S_IFMT,
  type Attrs,
  type Backend,
  type CreateHow,
  type Cred,
  type DirEntry,
  type EntryResult,
  type FileType,
  type FsInfo,
  type FsStat,
  type Name,
  type PreOpAttrs,
  type ReadDirResult,
  type SetAttrs,
  type StableHow,
  type Time,
  type Wcc,
} from '../backend.js';
import { BackendError } from '../errors.js';
import { startSweeper } from '../sweeper.js';
import { WriteVerifier } from '../write-verifier.js';
import { FileGate } from './file-gate.js';

export interface GfapiBackendOptions {
  /** Gluster volume name. */
  volume: string;
  /** A glusterd that serves the volume file (any server of the volume). */
  volfileServer: string;
  /** glusterd's port, default 24007. */
  port?: number;
  /** libgfapi's log file (default: none). */
  logFile?: string;
  /** libgfapi log level (glusterfs gf_loglevel_t: 4 = error, 7 = info). */
  logLevel?: number;
  /**
   * Serve this directory of the volume ("/a/b") instead of its root; it
   * must exist. `..` of it is itself. (Like Ganesha, a forged handle can
   * still name objects elsewhere in the same volume: the volume, not the
   * directory, is the security boundary.)
   */
  subdir?: string;
  /**
   * Client xlator options set before glfs_init (glfs_set_xlator_option),
   * e.g. `{ xlator: '*-md-cache', key: 'md-cache-timeout', value: '60' }`.
   * Only the first backend of a volume in a process applies them.
   */
  xlatorOptions?: { xlator: string; key: string; value: string }[];
  /**
   * Keep freed I/O-sized blocks in the process's malloc heap (native
   * tuneMallocForIo; process-wide, default true), as the posix backend
   * does. libgfapi callocs its buffer for every write of over 1 MiB (the
   * write queue's joined 2 MiB calls): without it each one came from
   * fresh pages, faulted in and zeroed. Measured (seqwrite of 256 MiB,
   * medians of 6 interleaved rounds): cairnd's CPU 0.29 vs 0.34 CPU-s,
   * for about 70 MB more resident memory.
   */
  tuneMalloc?: boolean;
}

/**
 * `CAIRN_GFAPI_STATS=FILE`: every STATS_MS the backend's counters
 * (native gfapiStats: operations and libgfapi calls with count and total
 * µs, the most operations in flight, cache hits) are appended to FILE as
 * one JSON line and reset, for the benchmark's per-workload profile.
 */
const STATS_MS = 200;
let statsTimer: NodeJS.Timeout | undefined;

function startStatsDump(file: string): void {
  if (statsTimer) return;
  gfapiStats(true);
  statsTimer = setInterval(() => {
    const j = gfapiStats(true);
    if (j.includes('"ops":{}')) return;
    try {
      appendFileSync(file, `${JSON.stringify({ t: Date.now(), ...JSON.parse(j) })}\n`);
    } catch {
      /* a benchmark aid: never fail the server for it */
    }
  }, STATS_MS);
  statsTimer.unref();
}

const HANDLE_VERSION = 1;
const GFID_LEN = 16;
const HANDLE_LEN = 1 + 16 + GFID_LEN;

const TYPE_BITS: Record<'blk' | 'chr' | 'sock' | 'fifo', number> = {
  blk: 0o060000,
  chr: 0o020000,
  sock: 0o140000,
  fifo: 0o010000,
};

const ZERO_VERIFIER = Buffer.alloc(8);
/** Sizes a JS number holds exactly (sizeUnchanged takes a number). */
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

const SYNC: Record<StableHow, number> = { unstable: 0, data_sync: 1, file_sync: 2 };

const FS_INFO: FsInfo = {
  maxRead: 1 << 20,
  maxWrite: 1 << 20,
  // Sizes and offsets reach libgfapi as doubles: exact up to 2^53 - 1
  // (8 PiB), far past what shard's per-shard bookkeeping allows anyway.
  // Above it a size would round (2^63 - 1 became 2^63, a negative off_t
  // that the shard translator took as a size).
  maxFileSize: BigInt(Number.MAX_SAFE_INTEGER),
  linkMax: 0xffffffff,
  nameMax: 255,
  timeDelta: { sec: 0, nsec: 1 },
  caseInsensitive: false,
  casePreserving: true,
  chownRestricted: true,
  noTrunc: true,
  symlinks: true,
  hardlinks: true,
};

/**
 * One glfs_t per volume and process (FACTS: each adds ~9 threads, and
 * glfs_fini takes 10 s): every backend of the same volume shares it.
 */
const VOLUMES = new Map<string, Promise<GfapiVolume>>();

/**
 * Cached fds no call has taken for this long are closed (Volume::sweep),
 * checked every FD_SWEEP_MS: a file deleted through another client (SMB,
 * another appliance) keeps its space on the bricks while any fd of it is
 * open. VM disks in use are taken many times a second and stay open.
 */
const FD_IDLE_MS = 5000;
const FD_SWEEP_MS = 2000;

/**
 * Client xlator options of our own graph, before the caller's. The `virt`
 * profile turns on performance.client-io-threads, which queues every fop
 * to an io-threads worker: for a FUSE mount's few threads that adds
 * parallelism, but our blocking calls already run on libuv's many
 * workers, so it only added a thread hand-off (two context switches) per
 * fop. Pass-through winds on the calling thread: random 4 KiB reads
 * through NFS cost ~10% less server CPU and ran ~4% faster
 * (bench:gluster, replica 3 on one host). The volume's own setting, and
 * every other client's, is unchanged.
 */
const OUR_XLATOR_OPTIONS = [{ xlator: '*-io-threads', key: 'pass-through', value: 'true' }];

function volumeOf(opts: GfapiBackendOptions): Promise<GfapiVolume> {
  const port = opts.port ?? 24007;
  const key = `${opts.volfileServer}:${port}/${opts.volume}`;
  let v = VOLUMES.get(key);
  if (!v) {
    v = openGfapiVolume(opts.volume, opts.volfileServer, port, opts.logFile ?? '/dev/null', opts.logLevel ?? 4, [...OUR_XLATOR_OPTIONS, ...(opts.xlatorOptions ?? [])]);
    VOLUMES.set(key, v);
    v.then(
      (vol) => void startSweeper(FD_SWEEP_MS, () => vol.sweep(FD_IDLE_MS)),
      () => VOLUMES.delete(key),
    );
  }
  return v;
}

/** Opens the volume (glfs_init, once per process) and returns a Backend serving it. */
export async function openGfapiBackend(opts: GfapiBackendOptions): Promise<Backend> {
  if (!opts.volume || !opts.volfileServer) throw new BackendError('EINVAL', 'gfapi backend needs a volume and a volfile server');
  if (opts.tuneMalloc ?? true) tuneMallocForIo();
  const vol = await volumeOf(opts);
  if (process.env.CAIRN_GFAPI_STATS) startStatsDump(process.env.CAIRN_GFAPI_STATS);
  let root = (await vol.root()).gfid;
  const sys: GfCred = { uid: 0, gid: 0, gids: [] };
  for (const part of (opts.subdir ?? '').split('/').filter(Boolean)) {
    if (part === '.' || part === '..') throw new BackendError('EINVAL', `subdir ${opts.subdir}: no . or .. components`);
    const e = await vol.lookup(sys, root, part);
    if ((e.stat.mode & S_IFMT) !== 0o040000) throw new BackendError('ENOTDIR', `subdir ${opts.subdir}: ${part} is not a directory`);
    root = e.gfid;
  }
  return new GfapiBackend(vol, root, new WriteVerifier(randomVerifier()));
}

function randomVerifier(): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(Date.now()) * 1000n + BigInt(process.pid % 1000));
  return b;
}

const cred = (c: Cred): GfCred => ({ uid: c.uid, gid: c.gid, gids: c.gids });

/** The native setattr's fields for sattr3's atime and mtime. */
function times(set: SetAttrs) {
  return {
    atimeServer: set.atime === 'server' ? true : undefined,
    atimeSec: typeof set.atime === 'object' ? set.atime.sec : undefined,
    atimeNsec: typeof set.atime === 'object' ? set.atime.nsec : undefined,
    mtimeServer: set.mtime === 'server' ? true : undefined,
    mtimeSec: typeof set.mtime === 'object' ? set.mtime.sec : undefined,
    mtimeNsec: typeof set.mtime === 'object' ? set.mtime.nsec : undefined,
  };
}

export class GfapiBackend implements Backend {
  readonly kind = 'gfapi';
  /** Names and symlink targets are bytes to Gluster too: any that is not UTF-8 is kept exactly. */
  readonly rawNames = true;
  private readonly volumeId: Buffer;
  private readonly fsid: bigint;
  /** Directory cookies stay valid for the volume's life: one verifier per volume. */
  private readonly cookieVerifier: Buffer;
  private readonly rootHandle: Buffer;
  /** Size changes alone, writes together, per file (by GFID). */
  private readonly sizes = new FileGate();

  constructor(
    private readonly vol: GfapiVolume,
    private readonly rootGfid: Buffer,
    private readonly verifier: WriteVerifier,
  ) {
    this.volumeId = vol.volumeId;
    this.fsid = this.volumeId.readBigUInt64BE(0);
    this.cookieVerifier = this.volumeId.subarray(8, 16);
    this.rootHandle = this.handleOf(rootGfid);
  }

  /** The handle of a GFID of this volume. */
  handleOf(gfid: Buffer): Buffer {
    const h = Buffer.alloc(HANDLE_LEN);
    h[0] = HANDLE_VERSION;
    this.volumeId.copy(h, 1);
    gfid.copy(h, 17);
    return h;
  }

  /** The GFID inside a handle; EBADHANDLE unless it is one of ours. */
  private gfid(handle: Buffer): Buffer {
    if (handle.length !== HANDLE_LEN || handle[0] !== HANDLE_VERSION || !handle.subarray(1, 17).equals(this.volumeId)) {
      throw new BackendError('EBADHANDLE', 'not a handle of this gfapi volume');
    }
    return handle.subarray(17, HANDLE_LEN);
  }

  private attrs(s: GfStat): Attrs {
    return {
      type: fileTypeOfMode(s.mode),
      mode: s.mode & 0o7777,
      nlink: s.nlink,
      uid: s.uid,
      gid: s.gid,
      size: BigInt(s.size),
      used: BigInt(s.used),
      rdev: { major: s.rdevMajor, minor: s.rdevMinor },
      fsid: this.fsid,
      fileid: s.ino,
      atime: { sec: s.atimeSec, nsec: s.atimeNsec },
      mtime: { sec: s.mtimeSec, nsec: s.mtimeNsec },
      ctime: { sec: s.ctimeSec, nsec: s.ctimeNsec },
    };
  }

  private pre(s: GfStat): PreOpAttrs {
    return { size: BigInt(s.size), mtime: { sec: s.mtimeSec, nsec: s.mtimeNsec }, ctime: { sec: s.ctimeSec, nsec: s.ctimeNsec } };
  }

  private attrsOpt(s: GfStat | null | undefined): Attrs | undefined {
    return s ? this.attrs(s) : undefined;
  }

  /**
   * Attributes of `g`: those the native side saw less than a second ago
   * when it has them (answered on this thread), else from the volume on a
   * worker. Same answer as `vol.stat` either way; a GETATTR after its
   * LOOKUP saves the two thread hand-offs of a task.
   */
  private async stat(g: Buffer): Promise<GfStat> {
    return this.vol.statCached(g) ?? this.vol.stat(g);
  }

  /** Post-op attributes of a directory, or undefined if it cannot be read now. */
  private async dirAfter(dir: Buffer): Promise<Attrs | undefined> {
    try {
      return this.attrs(await this.stat(dir));
    } catch {
      return undefined;
    }
  }

  async root(): Promise<Buffer> {
    return this.rootHandle;
  }

  async getattr(handle: Buffer): Promise<Attrs> {
    return this.attrs(await this.stat(this.gfid(handle)));
  }

  async setattr(c: Cred, handle: Buffer, set: SetAttrs, guardCtime?: Time): Promise<Wcc> {
    const g = this.gfid(handle);
    const sizeOnly = set.mode === undefined && set.uid === undefined && set.gid === undefined && set.atime === undefined && set.mtime === undefined;
    if (sizeOnly && set.size !== undefined && guardCtime === undefined && set.size <= MAX_SAFE) {
      // O_TRUNC of a file just made: nothing to change, answered here.
      const st = this.vol.sizeUnchanged(cred(c), g, Number(set.size));
      if (st) return { before: this.pre(st), after: this.attrs(st) };
    }
    if (c.uid !== 0 && (typeof set.atime === 'object' || typeof set.mtime === 'object')) {
      // Times of the caller's choosing are for the owner (utimensat(2):
      // EPERM); the bricks let anyone with write access set them. The
      // server's time needs only write access, which the bricks check.
      if ((await this.stat(g)).uid !== c.uid) throw new BackendError('EPERM', 'only the owner may set explicit times');
    }
    const r = await this.sized(g, set.size, (size) =>
      this.vol.setattr(cred(c), g, {
        mode: set.mode,
        uid: set.uid,
        gid: set.gid,
        size,
        ...times(set),
        guardCtimeSec: guardCtime?.sec,
        guardCtimeNsec: guardCtime?.nsec,
      }),
    );
    return { before: r.before ? this.pre(r.before) : undefined, after: this.attrs(r.after) };
  }

  /**
   * Runs a SETATTR of `g` that may change its size: a size past the
   * largest file is FBIG, and a size change has the file to itself
   * (file-gate.ts: shard's truncates race).
   */
  private async sized<T>(g: Buffer, size: bigint | undefined, apply: (size: number | undefined) => Promise<T>): Promise<T> {
    if (size === undefined) return apply(undefined);
    if (size > FS_INFO.maxFileSize) throw new BackendError('EFBIG', 'size beyond the largest file size');
    return this.sizes.run(g.toString('hex'), true, () => apply(Number(size)));
  }

  async lookup(c: Cred, dir: Buffer, name: Name): Promise<EntryResult> {
    const d = this.gfid(dir);
    if (name === '..' && d.equals(this.rootGfid)) {
      const a = this.attrs(await this.stat(d));
      return { handle: this.rootHandle, attrs: a, dir: { after: a } };
    }
    // A path's directories, resolved a moment ago, are answered here.
    const e = this.vol.lookupCached(cred(c), d, name) ?? (await this.vol.lookup(cred(c), d, name));
    return { handle: this.handleOf(e.gfid), attrs: this.attrs(e.stat), dir: {} };
  }

  async access(c: Cred, handle: Buffer, mask: number): Promise<{ granted: number; attrs: Attrs }> {
    // Only the bits the mask needs are asked of the bricks (a round trip each).
    const ask = (mask & ACCESS.READ ? 4 : 0) | (mask & (ACCESS.MODIFY | ACCESS.EXTEND | ACCESS.DELETE) ? 2 : 0) | (mask & (ACCESS.LOOKUP | ACCESS.EXECUTE) ? 1 : 0);
    const g = this.gfid(handle);
    const r = this.vol.accessCached(cred(c), g) ?? (await this.vol.access(cred(c), g, ask));
    const attrs = this.attrs(r.stat);
    const R = r.granted & 4;
    const W = r.granted & 2;
    const X = r.granted & 1;
    let granted = 0;
    if (R) granted |= ACCESS.READ;
    if (W) granted |= ACCESS.MODIFY | ACCESS.EXTEND | (attrs.type === 'dir' ? ACCESS.DELETE : 0);
    if (X) granted |= attrs.type === 'dir' ? ACCESS.LOOKUP : ACCESS.EXECUTE;
    return { granted: granted & mask, attrs };
  }

  async readlink(_c: Cred, handle: Buffer): Promise<{ target: Name; attrs: Attrs }> {
    const g = this.gfid(handle);
    const [target, st] = await Promise.all([this.vol.readlink(g), this.stat(g)]);
    return { target: nameOf(target), attrs: this.attrs(st) };
  }

  async read(c: Cred, handle: Buffer, offset: bigint, count: number, into?: Buffer): Promise<{ data: Buffer; eof: boolean; attrs: Attrs }> {
    const n = Math.min(count, FS_INFO.maxRead);
    // Straight into the server's pooled buffer when it lends one (large
    // READs), else into an uninitialised one of our own (Node's slab for
    // small sizes; malloc'd, not zeroed, for large): either way the
    // native side reads into JS memory, async where it can (readInto),
    // and only the bytes read are handed on.
    const buf = into && into.length >= n ? into.subarray(0, n) : Buffer.allocUnsafe(n);
    const r = await this.vol.readInto(cred(c), this.gfid(handle), Number(offset), buf);
    return { data: buf.subarray(0, r.count), eof: r.eof, attrs: this.attrs(r.stat) };
  }

  async write(
    c: Cred,
    handle: Buffer,
    offset: bigint,
    data: Buffer,
    stable: StableHow,
  ): Promise<{ count: number; committed: StableHow; file: Wcc }> {
    // Past the largest file (FSINFO maxfilesize): FBIG, not what the
    // offset's conversion to a double would make of it.
    if (offset + BigInt(data.length) > FS_INFO.maxFileSize) throw new BackendError('EFBIG', 'write beyond the largest file size');
    const g = this.gfid(handle);
    const r = await this.sizes
      .run(g.toString('hex'), false, () => this.vol.write(cred(c), g, Number(offset), data, SYNC[stable]))
      .catch((e: unknown) => this.verifier.failed(e));
    const before = r.before ? this.pre(r.before) : undefined;
    return { count: data.length, committed: stable, file: { before, after: this.attrs(r.after) } };
  }

  async commit(_c: Cred, handle: Buffer): Promise<Wcc> {
    const r = await this.vol.commit(this.gfid(handle)).catch((e: unknown) => this.verifier.failed(e));
    return { before: r.before ? this.pre(r.before) : undefined, after: this.attrs(r.after) };
  }

  /** In WRITE and COMMIT replies; a new one after an error that may have lost data (write-verifier.ts). */
  get writeVerifier(): Buffer {
    return this.verifier.current;
  }

  async create(c: Cred, dir: Buffer, name: Name, how: CreateHow): Promise<EntryResult> {
    const d = this.gfid(dir);
    if (how.mode === 'exclusive') {
      // RFC 1813 §3.3.8: keep the verifier in the file's times so that a
      // retransmitted CREATE finds its own file and succeeds.
      const atimeSec = how.verifier.readUInt32BE(0);
      const mtimeSec = how.verifier.readUInt32BE(4);
      try {
        const e = await this.vol.create(cred(c), d, name, 0o600, true);
        const st = (await this.vol.setattr(cred(c), e.gfid, { atimeSec, atimeNsec: 0, mtimeSec, mtimeNsec: 0 })).after;
        return { handle: this.handleOf(e.gfid), attrs: this.attrs(st), dir: { after: this.attrsOpt(e.dir) } };
      } catch (err) {
        if ((err as { code?: string }).code !== 'EEXIST') throw err;
        const e = await this.vol.lookup(cred(c), d, name);
        if (e.stat.atimeSec === atimeSec && e.stat.mtimeSec === mtimeSec) {
          return { handle: this.handleOf(e.gfid), attrs: this.attrs(e.stat), dir: { after: await this.dirAfter(d) } };
        }
        throw err;
      }
    }
    const mode = how.attrs.mode ?? 0o644;
    let e: GfEntry;
    let made = true;
    try {
      // Exclusive even for UNCHECKED: a new file is then known to be empty.
      e = await this.vol.create(cred(c), d, name, mode, true, true);
    } catch (err) {
      // UNCHECKED on an existing file: it is opened (and maybe truncated) instead.
      if (how.mode !== 'unchecked' || (err as { code?: string }).code !== 'EEXIST') throw err;
      e = await this.vol.lookup(cred(c), d, name);
      made = false;
      // Only a regular file is "opened" by UNCHECKED; a directory, symlink
      // or device of that name is EEXIST (as knfsd and the posix backend).
      if ((e.stat.mode & S_IFMT) !== 0o100000) throw err;
    }
    // A file just made is empty: a size of 0 (what O_TRUNC sends) needs no truncate.
    const rest: SetAttrs = { ...how.attrs, mode: undefined, size: made && how.attrs.size === 0n ? undefined : how.attrs.size };
    let st = e.stat;
    if (Object.values(rest).some((v) => v !== undefined)) {
      st = (await this.sized(e.gfid, rest.size, (size) => this.vol.setattr(cred(c), e.gfid, { uid: rest.uid, gid: rest.gid, size, ...times(rest) }))).after;
    }
    return { handle: this.handleOf(e.gfid), attrs: this.attrs(st), dir: { after: e.dir ? this.attrs(e.dir) : await this.dirAfter(d) } };
  }

  private async finishMade(c: Cred, e: GfEntry, attrs: SetAttrs): Promise<EntryResult> {
    let st = e.stat;
    if (attrs.uid !== undefined || attrs.gid !== undefined || attrs.atime !== undefined || attrs.mtime !== undefined) {
      st = (await this.vol.setattr(cred(c), e.gfid, { uid: attrs.uid, gid: attrs.gid, ...times(attrs) })).after;
    }
    return { handle: this.handleOf(e.gfid), attrs: this.attrs(st), dir: { after: this.attrsOpt(e.dir) } };
  }

  async mkdir(c: Cred, dir: Buffer, name: Name, attrs: SetAttrs): Promise<EntryResult> {
    const d = this.gfid(dir);
    const e = await this.vol.mkdir(cred(c), d, name, attrs.mode ?? 0o755);
    return this.finishMade(c, e, attrs);
  }

  async symlink(c: Cred, dir: Buffer, name: Name, target: Name, attrs: SetAttrs): Promise<EntryResult> {
    const d = this.gfid(dir);
    const n = Buffer.byteLength(target);
    if (n === 0 || n > 4095) throw new BackendError('EINVAL', 'bad symlink target length');
    const e = await this.vol.symlink(cred(c), d, name, target);
    return this.finishMade(c, e, attrs);
  }

  async mknod(
    c: Cred,
    dir: Buffer,
    name: Name,
    type: 'blk' | 'chr' | 'sock' | 'fifo',
    attrs: SetAttrs,
    rdev?: { major: number; minor: number },
  ): Promise<EntryResult> {
    const d = this.gfid(dir);
    // Device nodes are root's to make (CAP_MKNOD, as knfsd and the posix
    // backend): the bricks would make one for anyone, owned by them.
    if ((type === 'chr' || type === 'blk') && c.uid !== 0) throw new BackendError('EPERM', 'only root may make device nodes');
    const mode = TYPE_BITS[type] | ((attrs.mode ?? 0o644) & 0o7777);
    const e = await this.vol.mknod(cred(c), d, name, mode, rdev?.major ?? 0, rdev?.minor ?? 0);
    return this.finishMade(c, e, attrs);
  }

  private async unlink(c: Cred, dir: Buffer, name: Name, isDir: boolean): Promise<Wcc> {
    const r = await this.vol.remove(cred(c), this.gfid(dir), name, isDir);
    return { before: r.before ? this.pre(r.before) : undefined, after: this.attrsOpt(r.after) };
  }

  remove(c: Cred, dir: Buffer, name: Name): Promise<Wcc> {
    return this.unlink(c, dir, name, false);
  }

  rmdir(c: Cred, dir: Buffer, name: Name): Promise<Wcc> {
    return this.unlink(c, dir, name, true);
  }

  async rename(c: Cred, fromDir: Buffer, fromName: Name, toDir: Buffer, toName: Name): Promise<{ from: Wcc; to: Wcc }> {
    const f = this.gfid(fromDir);
    const t = this.gfid(toDir);
    const [fb, tb] = await Promise.all([this.stat(f), this.stat(t)]);
    await this.vol.rename(cred(c), f, fromName, t, toName);
    const [fa, ta] = await Promise.all([this.dirAfter(f), this.dirAfter(t)]);
    return { from: { before: this.pre(fb), after: fa }, to: { before: this.pre(tb), after: ta } };
  }

  async link(c: Cred, handle: Buffer, dir: Buffer, name: Name): Promise<{ attrs: Attrs; dir: Wcc }> {
    const g = this.gfid(handle);
    const d = this.gfid(dir);
    const before = await this.stat(d);
    const st = await this.vol.link(cred(c), g, d, name);
    return { attrs: this.attrs(st), dir: { before: this.pre(before), after: await this.dirAfter(d) } };
  }

  async readdir(c: Cred, dir: Buffer, cookie: bigint, verifier: Buffer, maxEntries: number, plus: boolean): Promise<ReadDirResult> {
    const d = this.gfid(dir);
    // A zero verifier with a cookie is taken for ours: Linux clients zero it
    // when they drop a directory's caches and resume from their cookie
    // (refused, `ls` failed with "Unknown error 523"; see the posix
    // backend's cookieVerifier). Ours never changes for the volume's life.
    if (cookie !== 0n && !verifier.equals(this.cookieVerifier) && !verifier.equals(ZERO_VERIFIER)) {
      throw new BackendError('EBADCOOKIE', 'cookie verifier mismatch');
    }
    // READDIRPLUS's handles and attributes are LOOKUPs' answers: without
    // search permission on the directory (LOOKUP is EACCES) only its names.
    const names = plus && c.uid !== 0 && !((await this.vol.access(cred(c), d, 1)).granted & 1);
    const r = await this.vol.readdir(cred(c), d, cookie, Math.max(1, maxEntries), plus && !names);
    const isRoot = d.equals(this.rootGfid);
    const entries: DirEntry[] = r.entries.map((e) => {
      const out: DirEntry = { name: e.name, fileid: e.stat ? e.stat.ino : e.ino, cookie: e.cookie };
      if (e.nameBytes) out.nameBytes = e.nameBytes;
      if (plus && !names) {
        if (e.name === '..' && isRoot) {
          out.handle = this.rootHandle;
        } else if (e.gfid && e.stat) {
          out.handle = this.handleOf(e.gfid);
          out.attrs = this.attrs(e.stat);
        }
      }
      return out;
    });
    return { entries, eof: r.eof, verifier: this.cookieVerifier, dirAttrs: this.attrsOpt(r.dir) };
  }

  async fsstat(handle: Buffer): Promise<FsStat> {
    const s = await this.vol.statvfs(this.gfid(handle));
    const unit = BigInt(s.frsize || s.bsize);
    return {
      totalBytes: BigInt(s.blocks) * unit,
      freeBytes: BigInt(s.bfree) * unit,
      availBytes: BigInt(s.bavail) * unit,
      totalFiles: BigInt(s.files),
      freeFiles: BigInt(s.ffree),
      availFiles: BigInt(s.favail),
    };
  }

  async fsinfo(handle: Buffer): Promise<FsInfo> {
    this.gfid(handle);
    return FS_INFO;
  }

  /**
   * Nothing to release per backend: the volume's glfs_t is shared by every
   * backend of the process and kept (glfs_fini takes 10 s); cached fds
   * live in it. Never awaits glfs_fini.
   */
  async close(): Promise<void> {}
}
