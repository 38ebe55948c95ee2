/**
 * What a procedure table entry is (STYLE.md point 1, as ganesha's
 * nfs3_func_desc[]): the procedure's RFC name, its argument decoder, its
 * result encoder, its handler and its flags. The dispatcher (dispatch.ts)
 * does everything common from these — credentials, export access,
 * read-only, the duplicate request cache — so handlers only do their
 * procedure.
 */
import type { Backend, Cred } from '../backend/backend.js';
import type { HandleCodec } from '../backend/filehandle.js';
import type { Client, ClientRule, Export, ExportTable } from '../exports.js';
import type { XdrReader } from '../xdr/reader.js';
import type { XdrWriter } from '../xdr/writer.js';
import type { Identity } from './auth.js';
import type { BlockedLocks } from '../nlm4/blocked.js';
import type { LockTable } from '../nlm4/locks.js';
import type { NlmMonitor } from '../nlm4/monitor.js';

/** The procedure changes the filesystem: refused with NFS3ERR_ROFS on read-only exports. */
export const MAKES_WRITE = 1;
/** Not idempotent: replies are kept in the duplicate request cache. */
export const CAN_BE_DUP = 2;

/**
 * An nfs_fh3 argument. Decoders fill `raw`; the dispatcher checks it and
 * fills `backend` (the backend's own handle) before the handler runs.
 */
export class FileHandleArg {
  backend: Buffer = EMPTY;
  constructor(readonly raw: Buffer) {}
}
const EMPTY = Buffer.alloc(0);

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** Server-wide state that handlers may read. */
export interface ServerState {
  exports: ExportTable;
  codec: HandleCodec;
  log: Logger;
  /** MOUNT's list of (client, path) for DUMP. */
  mounts: Map<string, Set<string>>;
  /** The byte-range locks NLM clients hold. */
  locks: LockTable;
  /** Which hosts hold locks (kept across restarts), and the grace period after one. */
  monitor: NlmMonitor;
  /** Blocked lock requests, granted by callback when their range frees. */
  blocked: BlockedLocks;
}

/**
 * Large buffers the transport lends one call for the bulk data of its reply
 * (READ data). A buffer from `take` belongs to the call until the socket
 * write carrying its reply has completed; only then does the transport put
 * it back in its pool. `take` returns undefined when the size is not worth
 * a pooled buffer or the call already holds one (the caller allocates).
 * Calls whose reply may be kept and sent again (CAN_BE_DUP) get none.
 */
export interface ReplyBuffers {
  take(n: number): Buffer | undefined;
  /** The transport sends FileChunks (a READ may use Backend.readDirect). */
  readonly direct?: boolean;
}

export interface CallContext {
  xid: number;
  client: Client;
  identity: Identity;
  server: ServerState;
  /** Set by the dispatcher for procedures with file handles. */
  export?: Export;
  rule?: Required<ClientRule>;
  /** The caller's credentials after the export's squashing. */
  cred: Cred;
  backend: Backend;
  /** Set by the transport (not for CAN_BE_DUP procedures). */
  replyBuffers?: ReplyBuffers;
}

export interface ProcEntry<A = any, R = any> {
  /** RFC name, e.g. NFSPROC3_REMOVE. */
  name: string;
  decode(r: XdrReader): A;
  encode(w: XdrWriter, res: R): void;
  handler(ctx: CallContext, args: A): Promise<R>;
  flags: number;
  /** The nfs_fh3 arguments the dispatcher must check (NFS procedures). */
  handles?(args: A): FileHandleArg[];
  /** A failure result with the full resfail shape, for errors found outside the handler. */
  fail?(status: number, args: A): R;
}

export interface Program {
  name: string;
  prog: number;
  /** Versions served, each a table indexed by procedure number. */
  versions: Map<number, ProcEntry[]>;
}
