/**
 * The NFS backend contract: everything the NFSv3 server needs from a
 * filesystem, and nothing of the wire. The protocol layer (nfs3/, mount3/)
 * decodes a call, checks the export's rules (clients, ro/rw, squash) and
 * calls exactly one method here; the dispatcher encodes the result.
 *
 * Implementations:
 *   - posix  (native, `backend/posix/`): a local directory; handles from
 *            name_to_handle_at, files opened with open_by_handle_at.
 *   - gfapi  (native, `backend/gfapi/`): a Gluster volume through libgfapi;
 *            handles carry the GFID.
 *   - memory (`backend/memory/`): unit-test fixture only, never in product.
 *
 * Rules every backend keeps (like nfs-ganesha's fsal_api.h):
 *
 *  1. Handles are opaque bytes, at most MAX_BACKEND_HANDLE bytes, stable
 *     for the life of the object: across server restarts, renames and (for
 *     gfapi) across appliances serving the same volume. The server wraps
 *     them with its own header (export id, checksum); a backend never sees
 *     a handle it did not make unless a client forged one — so every
 *     method validates the handle it is given and fails with `ESTALE`
 *     (object gone) or `EBADHANDLE` (not one of ours), never crashes.
 *  2. No handle, name or symlink ever reaches outside the backend's root:
 *     `..` of the root is the root; names are single components (no `/`,
 *     not empty, not `.` or `..` for creating calls — the protocol layer
 *     refuses those before calling, backends refuse them again).
 *  3. Errors are thrown as Error objects whose `code` is the errno name
 *     (`ENOENT`, `EEXIST`, `ENOTEMPTY`, `ESTALE`, …) or `EBADHANDLE`,
 *     `ENOTSUPP`, `EBADCOOKIE`, `ETOOSMALL`, `EJUKEBOX`. `errors.ts` maps
 *     them to nfsstat3 in one table; handlers never test codes themselves.
 *  4. Mutating calls return the parent directory's attributes before
 *     (`PreOpAttrs`, may be undefined if not cheaply known) and after
 *     (`Attrs`, may be undefined) — NFSv3 wcc data (RFC 1813 §2.6).
 *  5. Every call carries the caller's credentials (already squashed by
 *     the export rules). The backend enforces permissions as that user
 *     would get them from the filesystem (posix: setfsuid/setfsgid and
 *     the supplementary groups on the worker thread).
 *  6. `getattr` and `lookup` are called very often: keep them fast (no
 *     fsync, no directory scan; cache fds, not attributes).
 *  7. Reads and writes may be called concurrently on the same handle;
 *     data written UNSTABLE must be durable after `commit` returns, and
 *     `writeVerifier` changes whenever unstable data may have been lost
 *     (per server instance, and after a WRITE or COMMIT error that may
 *     stand for lost data: write-verifier.ts).
 */
import { isUtf8 } from 'node:buffer';

/** NFS3_FHSIZE is 64; the server's header takes the rest. */
export const MAX_BACKEND_HANDLE = 48;

export type FileType = 'reg' | 'dir' | 'blk' | 'chr' | 'lnk' | 'sock' | 'fifo';

/** S_IFMT and the file types of st_mode (sys/stat.h), for backends that read a POSIX mode. */
export const S_IFMT = 0o170000;
const TYPE_OF_MODE: Record<number, FileType> = {
  0o100000: 'reg',
  0o040000: 'dir',
  0o060000: 'blk',
  0o020000: 'chr',
  0o120000: 'lnk',
  0o140000: 'sock',
  0o010000: 'fifo',
};

/** The file type in a POSIX st_mode (an unknown type reads as a regular file). */
export function fileTypeOfMode(mode: number): FileType {
  return TYPE_OF_MODE[mode & S_IFMT] ?? 'reg';
}

/** nfstime3 */
export interface Time {
  sec: number;
  nsec: number;
}

/**
 * A filename3. Names are opaque bytes on the wire (RFC 1813 §2.5): a name
 * whose bytes are valid UTF-8 is a string (exactly those bytes); any other
 * name is a Buffer of its bytes — passed only to backends that declare
 * `rawNames` (the protocol layer answers NFS3ERR_INVAL to the others,
 * rather than act on a different, lossily decoded name).
 */
export type Name = string | Buffer;

/** The Name of these bytes: a string when they are valid UTF-8, else a copy of them. */
export function nameOf(bytes: Uint8Array): Name {
  return isUtf8(bytes) ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8') : Buffer.from(bytes);
}

/** fattr3, in host terms. */
export interface Attrs {
  type: FileType;
  /** Permission bits only (0o7777). */
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  size: bigint;
  /** Bytes allocated on disk. */
  used: bigint;
  rdev: { major: number; minor: number };
  fsid: bigint;
  fileid: bigint;
  atime: Time;
  mtime: Time;
  ctime: Time;
}

/** wcc_attr: what the directory looked like before a change. */
export interface PreOpAttrs {
  size: bigint;
  mtime: Time;
  ctime: Time;
}

/** Before/after attributes of the object a call changed (wcc_data). */
export interface Wcc {
  before?: PreOpAttrs;
  after?: Attrs;
}

/** AUTH_SYS credentials after export squashing. */
export interface Cred {
  uid: number;
  gid: number;
  gids: number[];
}

/** sattr3: each field set only when the client asked for it. */
export interface SetAttrs {
  mode?: number;
  uid?: number;
  gid?: number;
  size?: bigint;
  /** 'server' = SET_TO_SERVER_TIME. */
  atime?: Time | 'server';
  mtime?: Time | 'server';
}

export type StableHow = 'unstable' | 'data_sync' | 'file_sync';

export type CreateHow =
  | { mode: 'unchecked' | 'guarded'; attrs: SetAttrs }
  /** EXCLUSIVE: the 8-byte verifier must make a retransmitted create succeed. */
  | { mode: 'exclusive'; verifier: Buffer };

/** The result of a call that makes or finds a named object. */
export interface EntryResult {
  handle: Buffer;
  attrs: Attrs;
  /** The directory's wcc data (create-type calls) or post-op attrs (lookup). */
  dir: Wcc;
}

export interface DirEntry {
  /** The name (lossily decoded when `nameBytes` is set). */
  name: string;
  /** The exact bytes of a name that is not valid UTF-8 (rawNames backends). */
  nameBytes?: Buffer;
  fileid: bigint;
  /** Opaque position to resume after this entry; never 0. */
  cookie: bigint;
  /** Present when `plus` was asked (READDIRPLUS); may be absent for an entry that vanished. */
  handle?: Buffer;
  attrs?: Attrs;
}

export interface ReadDirResult {
  entries: DirEntry[];
  eof: boolean;
  /** cookieverf3 (8 bytes): changes when cookies from before can no longer be trusted. */
  verifier: Buffer;
  dirAttrs?: Attrs;
}

/**
 * What a backend needs to make the server's wire file handles (nfs_fh3,
 * filehandle.ts) itself: the export's id and the handle secret. Only for
 * `readdirXdr`; the format is HandleCodec's, and a backend that makes
 * handles must make exactly those bytes.
 */
export interface WireHandleKey {
  exportId: number;
  secret: Buffer;
}

/** READDIR3args / READDIRPLUS3args, as the client sent them. */
export interface ReadDirXdrArgs {
  cookie: bigint;
  verifier: Buffer;
  /** READDIRPLUS dircount (0 = no separate bound); unused for READDIR. */
  dircount: number;
  /** READDIRPLUS maxcount, or READDIR count. */
  maxcount: number;
  plus: boolean;
}

/** FSSTAT3resok, in host terms. */
export interface FsStat {
  totalBytes: bigint;
  freeBytes: bigint;
  availBytes: bigint;
  totalFiles: bigint;
  freeFiles: bigint;
  availFiles: bigint;
}

/** Static facts for FSINFO and PATHCONF. */
export interface FsInfo {
  maxRead: number;
  maxWrite: number;
  maxFileSize: bigint;
  linkMax: number;
  nameMax: number;
  /** Timestamp granularity. */
  timeDelta: Time;
  caseInsensitive: boolean;
  casePreserving: boolean;
  chownRestricted: boolean;
  noTrunc: boolean;
  symlinks: boolean;
  hardlinks: boolean;
}

/** ACCESS3 bits (RFC 1813 §3.3.4). */
export const ACCESS = {
  READ: 0x01,
  LOOKUP: 0x02,
  MODIFY: 0x04,
  EXTEND: 0x08,
  DELETE: 0x10,
  EXECUTE: 0x20,
} as const;

export interface Backend {
  /** 'posix', 'gfapi', 'memory': shown in logs and metrics. */
  readonly kind: string;

  /**
   * The backend takes names that are not valid UTF-8 as Buffers (`Name`)
   * and reports such names in `DirEntry.nameBytes`. Optional; without it,
   * names are always strings and such names are refused before the call.
   */
  readonly rawNames?: boolean;

  /** Handle of the export root. */
  root(): Promise<Buffer>;

  getattr(handle: Buffer): Promise<Attrs>;
  /** `guardCtime`: fail with `ENOT_SYNC` unless the ctime still equals it (SETATTR guard). */
  setattr(cred: Cred, handle: Buffer, set: SetAttrs, guardCtime?: Time): Promise<Wcc>;
  /** `..` of the root is the root. */
  lookup(cred: Cred, dir: Buffer, name: Name): Promise<EntryResult>;
  /** The subset of `mask` (ACCESS bits) that `cred` is granted. */
  access(cred: Cred, handle: Buffer, mask: number): Promise<{ granted: number; attrs: Attrs }>;
  /** The target as stored: a Buffer when its bytes are not UTF-8 (any backend). */
  readlink(cred: Cred, handle: Buffer): Promise<{ target: Name; attrs: Attrs }>;

  /**
   * Reads up to `count` bytes at `offset`. Returns a Buffer owned by the
   * caller (the server may send it without copying); `eof` is true when
   * the read reached the end of the file. `into`, when given (at least
   * `count` bytes, lent by the server from a pool), may be read into and
   * returned as a view of it; a backend may ignore it and return its own
   * Buffer. Either way it keeps no reference to `into` after returning.
   */
  read(cred: Cred, handle: Buffer, offset: bigint, count: number, into?: Buffer): Promise<{ data: Buffer; eof: boolean; attrs: Attrs }>;

  /**
   * Optional: a READ whose data goes from the file to the client's socket
   * without passing through this process (sendfile). Checks and answers
   * what the reply needs (count cut at end of file, eof, attributes)
   * without waiting for a disk, or undefined when it cannot (the caller
   * then uses `read`). The returned `send` and `fill` are used at most
   * once, by the transport, after the reply's header has been encoded.
   */
  readDirect?(cred: Cred, handle: Buffer, offset: bigint, count: number): DirectRead | undefined;
  /** The data Buffer may be a view into the RPC record: do not keep it after returning. */
  write(
    cred: Cred,
    handle: Buffer,
    offset: bigint,
    data: Buffer,
    stable: StableHow,
  ): Promise<{ count: number; committed: StableHow; file: Wcc }>;
  /** Makes earlier unstable writes in the range durable (count 0 = to the end). */
  commit(cred: Cred, handle: Buffer, offset: bigint, count: number): Promise<Wcc>;
  /** Changes when the server restarts; in WRITE and COMMIT replies (8 bytes). */
  readonly writeVerifier: Buffer;

  create(cred: Cred, dir: Buffer, name: Name, how: CreateHow): Promise<EntryResult>;
  mkdir(cred: Cred, dir: Buffer, name: Name, attrs: SetAttrs): Promise<EntryResult>;
  /**
   * `target` (nfspath3, opaque like names) is stored exactly; a Buffer
   * target (not UTF-8) reaches only rawNames backends.
   */
  symlink(cred: Cred, dir: Buffer, name: Name, target: Name, attrs: SetAttrs): Promise<EntryResult>;
  mknod(
    cred: Cred,
    dir: Buffer,
    name: Name,
    type: 'blk' | 'chr' | 'sock' | 'fifo',
    attrs: SetAttrs,
    rdev?: { major: number; minor: number },
  ): Promise<EntryResult>;
  remove(cred: Cred, dir: Buffer, name: Name): Promise<Wcc>;
  rmdir(cred: Cred, dir: Buffer, name: Name): Promise<Wcc>;
  /** Replaces an existing `toName` atomically, as rename(2). */
  rename(cred: Cred, fromDir: Buffer, fromName: Name, toDir: Buffer, toName: Name): Promise<{ from: Wcc; to: Wcc }>;
  link(cred: Cred, handle: Buffer, dir: Buffer, name: Name): Promise<{ attrs: Attrs; dir: Wcc }>;

  /**
   * Entries after `cookie` (0 = from the start; `.` and `..` included at
   * the start, as clients expect). `verifier` must be the one returned
   * earlier for a non-zero cookie, else `EBADCOOKIE`. Stops after
   * `maxEntries` entries; cookies must stay valid across calls so that a
   * 100,000-entry directory can be listed in many calls.
   */
  readdir(
    cred: Cred,
    dir: Buffer,
    cookie: bigint,
    verifier: Buffer,
    maxEntries: number,
    plus: boolean,
  ): Promise<ReadDirResult>;

  /**
   * Optional fast path of READDIR (`plus` false) and READDIRPLUS: the
   * complete `READDIR3res` / `READDIRPLUS3res` (RFC 1813 §3.3.16–17) as
   * XDR, status word included — NFS3_OK with its resok, or
   * NFS3ERR_TOOSMALL with the directory's post_op_attr — ready to follow
   * the RPC reply header. Entries, cookies, verifier and eof as `readdir`
   * gives them; the reply fits `maxcount` (capped at 1 MiB) and, for
   * READDIRPLUS, the entries' `entry3` sizes fit `dircount` (beyond the
   * first entry), as nfs3/readdir.ts and readdirplus.ts count them; at most
   * 4096 entries. Handles in entryplus3 are wire handles made with `fh`.
   * Other failures throw as every method does. Backends without it are
   * served through `readdir`, one JS object per entry; so is a call for
   * which it resolves undefined.
   */
  readdirXdr?(cred: Cred, dir: Buffer, args: ReadDirXdrArgs, fh: WireHandleKey): Promise<Buffer | undefined>;

  fsstat(handle: Buffer): Promise<FsStat>;
  fsinfo(handle: Buffer): Promise<FsInfo>;

  /** Releases fds, caches and threads. */
  close(): Promise<void>;
}

/**
 * A planned READ whose data the transport moves from the file itself
 * (Backend.readDirect). Its reply (count, attributes) is made when it is
 * planned, so its data must follow whatever happens meanwhile: the file
 * removed (the data is still the file's, as through an fd open across an
 * unlink), or cut short (zeros).
 */
export interface DirectRead {
  count: number;
  eof: boolean;
  attrs: Attrs;
  /** The data the ordinary way: read into `into` (zeros past a changed end of file). */
  fill(into: Buffer): Promise<void>;
  /** What sends it (with others of the same backend); the same object for all its reads. */
  sender: DirectSender;
}

/** A planned READ with the rest of its reply: `head` and `tail` around its data, and `spill` to hold all three. */
export interface DirectPart {
  read: DirectRead;
  head: Buffer;
  tail: Buffer;
  spill: Buffer;
}

/**
 * Sends planned READs back to back: a client reading a file sequentially
 * keeps several READs in flight, and one worker sending them all, the next
 * starting as soon as the last is out, keeps the socket fed without a hop
 * through the event loop between them.
 */
export interface DirectSender {
  /**
   * Sends each part's `head`, `count` bytes of its file and `tail` on the
   * socket `fd` (which it duplicates), in order, stopping at the first the
   * socket cannot take whole: what of it was not sent is put into its
   * `spill`. Resolves that part's index (`parts.length` when all went
   * out) and how many bytes are in its spill. The parts after it were not
   * started. Every part's read comes from this sender.
   */
  sendAll(fd: number, parts: DirectPart[]): Promise<{ index: number; left: number }>;
}
