/**
 * ONC RPC over TCP: one RecordDecoder per connection, calls dispatched as
 * they arrive and answered as they finish (out of order; RFC 5531 §11 lets
 * replies come in any order, matched by xid). Each connection is bounded:
 * at most MAX_IN_FLIGHT calls (MAX_IN_FLIGHT_BYTES of them) running, and
 * reading pauses while the peer does not read its replies — so a slow or half-open client holds only its
 * own connection, never the event loop or the others.
 *
 * Buffers: big records (1 MiB WRITEs) are gathered into pooled buffers
 * (record.ts), and big READ replies are read into buffers lent from a
 * second pool (ReplyLease); a lent buffer returns to its pool only from the
 * write callback of the reply that carried it — while the reply waits in
 * the socket's queue the buffer is not reused.
 *
 * Closing: the server closes a connection only for a record it refuses, a
 * stream it cannot parse, a failure inside the server, or IDLE_MS of
 * silence with no call in flight (a call stalled in the backend, e.g. while
 * Gluster fails over, is answered when it finishes, never cut off). Every
 * close is logged with its reason and the calls still in flight: at warn
 * when the server closed or calls were in flight; at info for a socket
 * reset with nothing pending; at debug for a client that hung up cleanly.
 */
import { Server, Socket, type SocketConstructorOpts, createServer } from 'node:net';
import type { DirectPart } from '../backend/backend.js';
import type { Client } from '../exports.js';
import type { Dispatcher } from './dispatch.js';
import type { Logger, ReplyBuffers } from './program.js';
import { FileChunk, type Chunk } from '../xdr/writer.js';
import { BufferPool, RecordArena, RecordDecoder, RecordTooLargeError } from './record.js';

export const MAX_IN_FLIGHT = 128;
/** Bytes of calls (mostly WRITE payloads) held at once per connection. */
export const MAX_IN_FLIGHT_BYTES = 32 * 1024 * 1024;
/** rtmax/wtmax are 1 MiB; WRITE adds its handle and header. */
export const DEFAULT_MAX_RECORD = 1024 * 1024 + 64 * 1024;
/** Replies queued but not yet taken by the peer before we stop reading its calls. */
const MAX_UNSENT = 8 * 1024 * 1024;
/** Connections silent this long with no call in flight are closed (clients reconnect). */
const IDLE_MS = 15 * 60_000;

/** READ replies at least this big get a pooled buffer (smaller ones come from the backend's slabs). */
const LEND_MIN = 64 * 1024;
/** Size of a lent READ buffer: rtmax, and room for a reply's header (a spill of a file reply holds all of it). */
const LEND_SIZE = 1024 * 1024 + 4096;
/** READ data from file to socket with sendfile (CAIRN_NFS_SENDFILE=0 turns it off, to compare). */
const SEND_FILES = process.env.CAIRN_NFS_SENDFILE !== '0';
/**
 * READ replies sent from their files in one worker call at most (each
 * holds a buffer for what the socket does not take while it waits).
 */
const SEND_BATCH = 4;
/** Lent READ buffers kept for reuse per server (more in flight are allocated and dropped). */
export const DEFAULT_READ_BUFFERS = 32;

export interface TransportOptions {
  maxRecord?: number;
  /** Pooled READ buffers kept (DEFAULT_READ_BUFFERS; 0 = none lent). */
  readBuffers?: number;
  /** Told of the socket that serves each connection (to close it at shutdown). */
  onSocket?: (socket: Socket) => void;
}

/** A READ reply on its way from its file to the socket (DirectPart), with what it came with. */
interface Outgoing extends DirectPart {
  reply: Chunk[];
  lease?: ReplyLease;
}

/** The pooled buffer one call holds, given back once its reply is written. */
class ReplyLease implements ReplyBuffers {
  private held?: Buffer;

  constructor(
    private readonly pool: BufferPool,
    readonly direct: boolean,
  ) {}

  take(n: number): Buffer | undefined {
    if (this.held || n < LEND_MIN || n > this.pool.size) return undefined;
    this.held = this.pool.get();
    return this.held;
  }

  /** The reply is on the wire (or was never sent): the buffer may be reused. */
  release(): void {
    if (this.held) this.pool.put(this.held);
    this.held = undefined;
  }

  /** The write failed: the buffer may still be referenced by the dead socket; let GC have it. */
  drop(): void {
    this.held = undefined;
  }

  get holding(): boolean {
    return this.held !== undefined;
  }
}

export function createRpcServer(dispatcher: Dispatcher, log: Logger, opts: TransportOptions = {}): Server {
  const maxRecord = opts.maxRecord ?? DEFAULT_MAX_RECORD;
  // Paused: serveConnection decides how the connection's bytes are read.
  const server = createServer({ noDelay: true, keepAlive: true, keepAliveInitialDelay: 60_000, pauseOnConnect: true });
  // Big records and their 4-byte header (RecordArena reads both into one).
  const pool = new BufferPool(maxRecord + 4);
  const readBuffers = opts.readBuffers ?? DEFAULT_READ_BUFFERS;
  const readPool = readBuffers > 0 ? new BufferPool(LEND_SIZE, LEND_MIN, readBuffers) : undefined;
  server.on('connection', (socket) => serveConnection(socket, dispatcher, log, maxRecord, pool, readPool, opts.onSocket));
  return server;
}

/** What net.Socket keeps of an accepted connection (its libuv TCP handle). */
interface StreamHandle {
  useUserBuffer?: unknown;
}

/**
 * The accepted connection as a socket that reads into buffers we give it
 * (`onread`, documented for client sockets; net.Server has no such option,
 * so its TCP handle moves to a socket made with one). undefined if this
 * Node's socket does not expose the handle: the caller reads with 'data'.
 */
function adoptWithOnread(accepted: Socket, onread: { buffer: () => Buffer; callback: (n: number) => boolean }): Socket | undefined {
  const carrier = accepted as unknown as { _handle: StreamHandle | null };
  const handle = carrier._handle;
  if (!handle || typeof handle.useUserBuffer !== 'function') return undefined;
  carrier._handle = null;
  // Without its handle this only settles the server's connection count; the descriptor lives on.
  accepted.destroy();
  return new Socket({ handle, onread } as SocketConstructorOpts);
}

/** The descriptor under a socket (libuv's TCP handle), for sendfile; undefined if not exposed. */
function socketFd(socket: Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

function serveConnection(accepted: Socket, dispatcher: Dispatcher, log: Logger, maxRecord: number, pool: BufferPool, readPool?: BufferPool, onSocket?: (s: Socket) => void): void {
  const client: Client = { address: accepted.remoteAddress ?? '', port: accepted.remotePort ?? 0, local: accepted.localAddress };
  // The callbacks named here (onRecord, framed) are defined below; they
  // first run when bytes arrive, after this function has returned.
  const arena = new RecordArena(maxRecord, (record, release) => onRecord(record, release), pool);
  const adopted = adoptWithOnread(accepted, { buffer: () => arena.next(), callback: (n) => framed(() => arena.received(n)) });
  const socket = adopted ?? accepted;
  onSocket?.(socket);
  let inFlight = 0;
  let inFlightBytes = 0;
  let waitingDrain = false;
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  const opened = Date.now();
  let calls = 0;
  /** Why the server closed the connection (undefined: the peer did, or the socket failed). */
  let closedBy: string | undefined;
  let socketError: string | undefined;
  const close = (reason: string) => {
    closedBy ??= reason;
    socket.destroy();
  };
  socket.on('close', (hadError) => {
    const fields = { client: `${client.address}:${client.port}`, inFlight, inFlightBytes, unsent: socket.writableLength, calls, ageMs: Date.now() - opened };
    if (closedBy) log.warn({ ...fields, reason: closedBy }, 'RPC connection closed by the server');
    // A reset with nothing pending is how some clients hang up (libnfs closes its MOUNT connection so).
    else if (hadError || socketError) log[inFlight > 0 ? 'warn' : 'info']({ ...fields, reason: `socket error: ${socketError ?? 'unknown'}` }, 'RPC connection lost');
    else if (inFlight > 0) log.warn({ ...fields, reason: 'closed by the client with calls in flight' }, 'RPC connection closed by the client');
    else log.debug({ ...fields, reason: 'closed by the client' }, 'RPC connection closed by the client');
  });
  socket.setTimeout(IDLE_MS, () => {
    // Silence while a call runs is the backend stalling, not an idle client.
    if (inFlight > 0) return;
    close(`idle for ${IDLE_MS / 1000} s`);
  });
  const resumeIfIdle = () => {
    if (inFlight + waiting.length < MAX_IN_FLIGHT && inFlightBytes <= MAX_IN_FLIGHT_BYTES && !waitingDrain && socket.isPaused()) socket.resume();
  };
  socket.on('drain', () => {
    waitingDrain = false;
    resumeIfIdle();
  });
  const onRecord = (record: Buffer, release?: () => void) => {
    inFlight++;
    calls++;
    inFlightBytes += record.length;
    if (inFlight >= MAX_IN_FLIGHT || inFlightBytes > MAX_IN_FLIGHT_BYTES) socket.pause();
    const settle = () => {
      inFlight--;
      inFlightBytes -= record.length;
      // The call is over: nothing holds a view of its record any more
      // (replies are encoded afresh; backends keep no WRITE data, backend.ts).
      release?.();
    };
    const lease = readPool ? new ReplyLease(readPool, canSendFiles) : undefined;
    dispatcher.handle(record, client, lease).then(
      (reply) => {
        settle();
        if (reply) writeReply(reply, lease);
        else lease?.release();
        resumeIfIdle();
      },
      (err: unknown) => {
        settle();
        lease?.release();
        log.error({ err, client: client.address }, 'RPC call failed inside the server; closing the connection');
        close(`call failed inside the server: ${err instanceof Error ? err.message : String(err)}`);
      },
    );
  };
  /**
   * A reply with file data (FileChunk) is written by a worker thread,
   * straight to the socket: meanwhile nothing else may write to it, so
   * other replies wait here, in order. The file replies at the head of
   * the line then leave together (DirectSender), up to SEND_BATCH.
   */
  const canSendFiles = SEND_FILES && adopted !== undefined && socketFd(socket) !== undefined;
  let sendingFile = false;
  const waiting: Array<{ reply: Chunk[]; lease?: ReplyLease }> = [];
  const writeReply = (reply: Chunk[], lease?: ReplyLease): void => {
    if (socket.destroyed) return lease?.release();
    if (sendingFile) {
      waiting.push({ reply, lease });
      // Replies held here count against the peer like calls in flight.
      if (inFlight + waiting.length >= MAX_IN_FLIGHT) socket.pause();
      return;
    }
    const at = reply.findIndex((c) => c instanceof FileChunk);
    if (at >= 0) return sendWithFile(reply, at, lease);
    // Replies finishing in the same tick leave in one writev.
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    const last = reply.length - 1;
    for (let i = 0; i < last; i++) socket.write(reply[i] as Buffer);
    // Chunks leave in order: when the last is written, all are.
    if (lease?.holding) socket.write(reply[last] as Buffer, (err) => (err ? lease.drop() : lease.release()));
    else socket.write(reply[last] as Buffer);
    if (socket.writableLength > MAX_UNSENT && !waitingDrain) {
      waitingDrain = true;
      socket.pause();
    }
  };
  const sendWaiting = () => {
    while (!sendingFile && waiting.length > 0) {
      const w = waiting.shift()!;
      writeReply(w.reply, w.lease);
    }
    resumeIfIdle();
  };
  /** A READ reply made ready for the sender: the pieces around its file data, and room for what the socket does not take. */
  const prepare = (reply: Chunk[], at: number, lease?: ReplyLease): Outgoing => {
    const read = (reply[at] as FileChunk).source;
    const head = Buffer.concat(reply.slice(0, at) as Buffer[]);
    const tail = Buffer.concat(reply.slice(at + 1) as Buffer[]);
    const total = head.length + read.count + tail.length;
    return { reply, lease, read, head, tail, spill: lease?.take(total) ?? Buffer.allocUnsafe(total) };
  };
  const sendWithFile = (reply: Chunk[], at: number, lease?: ReplyLease): void => {
    const first = prepare(reply, at, lease);
    if (corked) uncork();
    const fd = socketFd(socket);
    if (fd === undefined || socket.writableLength > 0) {
      // Bytes already queued must leave first: this reply goes the ordinary way.
      const data = first.spill.subarray(0, first.read.count);
      first.read.fill(data).then(
        () => writeReply([first.head, data, first.tail], lease),
        (err: unknown) => {
          lease?.release();
          log.error({ err, client: client.address }, 'READ failed after its reply was encoded; closing the connection');
          close(`READ data could not be read: ${err instanceof Error ? err.message : String(err)}`);
        },
      );
      return;
    }
    // READ replies waiting behind this one leave in the same call.
    const batch = [first];
    const sender = first.read.sender;
    while (batch.length < SEND_BATCH && waiting.length > 0) {
      const next = waiting[0]!;
      const i = next.reply.findIndex((c) => c instanceof FileChunk);
      if (i < 0 || (next.reply[i] as FileChunk).source.sender !== sender) break;
      waiting.shift();
      batch.push(prepare(next.reply, i, next.lease));
    }
    sendingFile = true;
    sender.sendAll(fd, batch).then(
      ({ index, left }) => {
        for (const done of batch.slice(0, index)) done.lease?.release();
        // Not started: back to the front of the queue, in order, their buffers let go meanwhile.
        const unsent = batch.slice(index + 1);
        for (const u of unsent) u.lease?.release();
        waiting.unshift(...unsent.map(({ reply, lease }) => ({ reply, lease })));
        const cut = batch[index];
        if (cut && left > 0 && !socket.destroyed) {
          // The socket was full. Later replies wait until this rest is
          // out too: a file reply then finds the socket empty again.
          socket.write(cut.spill.subarray(0, left), (err) => {
            if (err) cut.lease?.drop();
            else cut.lease?.release();
            sendingFile = false;
            sendWaiting();
          });
          return;
        }
        cut?.lease?.release();
        sendingFile = false;
        sendWaiting();
      },
      (err: NodeJS.ErrnoException) => {
        sendingFile = false;
        for (const b of batch) b.lease?.release();
        for (const w of waiting.splice(0)) w.lease?.release();
        // Part of the record may be on the wire: the connection cannot go on.
        if (err.code === 'EPIPE' || err.code === 'ECONNRESET') {
          socketError ??= err.code;
          socket.destroy();
        } else {
          log.error({ err, client: client.address }, 'sending READ data failed; closing the connection');
          close(`sending READ data failed: ${err.message}`);
        }
      },
    );
  };
  /** Frames bytes; false when the stream was refused and the connection is closing. */
  const framed = (frame: () => void): boolean => {
    try {
      frame();
      return true;
    } catch (e) {
      // Whatever a peer sends costs it its connection, never the daemon.
      if (e instanceof RecordTooLargeError) {
        log.warn({ client: client.address, size: e.size, max: e.max, err: e.message }, 'RPC record refused; closing the connection');
        close(`record of ${e.size} bytes refused (max ${e.max})`);
      } else {
        log.error({ err: e, client: client.address }, 'RPC stream error; closing the connection');
        close(`stream error: ${e instanceof Error ? e.message : String(e)}`);
      }
      return false;
    }
  };
  if (!adopted) {
    const decoder = new RecordDecoder(maxRecord, onRecord, pool);
    socket.on('data', (chunk: Buffer) => void framed(() => decoder.push(chunk)));
    socket.resume();
  }
  // Logged once, with the in-flight count, by the close handler.
  socket.on('error', (err: NodeJS.ErrnoException) => (socketError = err.code ?? err.message));
}
