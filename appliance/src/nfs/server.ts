/**
 * The NFS server: MOUNT v3, NFS v3, the NLM v4 lock manager and the NSM
 * status monitor's SM_NOTIFY on one TCP port (and MOUNT on a port of its
 * own if asked), over the exports given with setExports. Optional
 * registration with the system rpcbind (which is how the Linux client
 * finds MOUNT, NLM and NSM).
 */
import type { Server, Socket } from 'node:net';
import { once } from 'node:events';
import { HandleCodec, loadHandleSecret } from './backend/filehandle.js';
import { ExportTable, type ExportSpec } from './exports.js';
import { mount3Program } from './mount3/procedures.js';
import { MOUNT_PROGRAM, MOUNT_V3 } from './mount3/types.js';
import { nfs3Program } from './nfs3/procedures.js';
import { BlockedLocks } from './nlm4/blocked.js';
import { LockTable } from './nlm4/locks.js';
import { NlmMonitor } from './nlm4/monitor.js';
import { NSM_PROGRAM, NSM_V1, nsmProgram } from './nlm4/nsm.js';
import { nlm4Program } from './nlm4/procedures.js';
import { NLM_PROGRAM, NLM_V4 } from './nlm4/types.js';
import { NFS_PROGRAM, NFS_V3 } from './nfs3/types.js';
import { Dispatcher } from './rpc/dispatch.js';
import { pmapCall, PMAPPROC_SET, PMAPPROC_UNSET, type Mapping } from './rpc/portmap.js';
import type { Logger, ServerState } from './rpc/program.js';
import { createRpcServer } from './rpc/transport.js';

export interface NfsServerOptions {
  /** File holding the file handle secret (created on first start). */
  handleSecretFile?: string;
  /** Or the secret itself (tests). */
  handleSecret?: Buffer;
  log: Logger;
  exports?: ExportSpec[];
  /** Largest RPC record accepted (default 1 MiB + 64 KiB). */
  maxRecord?: number;
  /** Pooled 1 MiB READ buffers kept per listening port (transport.ts DEFAULT_READ_BUFFERS). */
  readBuffers?: number;
  /**
   * Where NLM keeps the hosts holding locks and the NSM state number, so
   * that after a restart they are told to reclaim (nlm4/monitor.ts).
   * None: locks are forgotten with the process, nobody is told.
   */
  stateDir?: string;
  /** The grace period after a restart with lock clients (default 45 s). */
  nlmGraceMs?: number;
  /** The port of the clients' portmappers, for SM_NOTIFY and GRANTED callbacks (111; tests). */
  portmapperPort?: number;
}

export interface ListenOptions {
  host?: string;
  port: number;
  /** Also serve MOUNT alone on this port (0 = any free port). */
  mountPort?: number;
  /** Register with rpcbind on 127.0.0.1:111 if it answers (default false). */
  rpcbind?: boolean;
}

export class NfsServer {
  private state?: ServerState;
  private dispatcher?: Dispatcher;
  private servers: Server[] = [];
  private registered: Mapping[] = [];
  private readonly sockets = new Set<Socket>();
  private specs: ExportSpec[];

  constructor(private readonly opts: NfsServerOptions) {
    this.specs = opts.exports ?? [];
  }

  /** Starts listening; resolves with the ports bound. */
  async start(listen: ListenOptions): Promise<{ port: number; mountPort: number }> {
    const secret = this.opts.handleSecret ?? (await loadHandleSecret(this.opts.handleSecretFile ?? fail('NfsServer needs handleSecretFile or handleSecret')));
    this.state = {
      exports: new ExportTable(this.specs),
      codec: new HandleCodec(secret),
      log: this.opts.log,
      mounts: new Map(),
      locks: new LockTable(),
      monitor: new NlmMonitor({ dir: this.opts.stateDir, log: this.opts.log, graceMs: this.opts.nlmGraceMs, portmapperPort: this.opts.portmapperPort }),
      blocked: new BlockedLocks({ log: this.opts.log, portmapperPort: this.opts.portmapperPort }),
    };
    await this.state.monitor.start();
    this.dispatcher = new Dispatcher([nfs3Program, mount3Program, nlm4Program, nsmProgram], this.state);
    const host = listen.host ?? '0.0.0.0';
    const port = await this.listen(host, listen.port);
    let mountPort = port;
    if (listen.mountPort !== undefined) mountPort = await this.listen(host, listen.mountPort);
    if (listen.rpcbind) {
      const maps: Mapping[] = [
        { prog: NFS_PROGRAM, vers: NFS_V3, port },
        { prog: MOUNT_PROGRAM, vers: MOUNT_V3, port: mountPort },
        { prog: NLM_PROGRAM, vers: NLM_V4, port },
        { prog: NSM_PROGRAM, vers: NSM_V1, port },
      ];
      for (const m of maps) {
        await pmapCall(PMAPPROC_UNSET, m);
        const ok = await pmapCall(PMAPPROC_SET, m);
        if (ok) this.registered.push(m);
        else this.opts.log.warn({ prog: m.prog, vers: m.vers, answered: ok !== undefined }, 'rpcbind registration failed; clients need explicit ports');
      }
    }
    return { port, mountPort };
  }

  private async listen(host: string, port: number): Promise<number> {
    const server = createRpcServer(this.dispatcher!, this.opts.log, {
      maxRecord: this.opts.maxRecord,
      readBuffers: this.opts.readBuffers,
      onSocket: (sock) => {
        this.sockets.add(sock);
        sock.on('close', () => this.sockets.delete(sock));
      },
    });
    server.listen(port, host);
    await once(server, 'listening');
    this.servers.push(server);
    const addr = server.address();
    return typeof addr === 'object' && addr ? addr.port : port;
  }

  /**
   * Replaces the exports (hot: existing connections see the new table on
   * their next call). Handles of exports that are gone become STALE;
   * handles of exports that stay (same id) remain valid.
   */
  setExports(specs: ExportSpec[]): void {
    const table = new ExportTable(specs);
    this.specs = specs;
    if (this.state) this.state.exports = table;
  }

  get stats() {
    return { ...this.dispatcher?.stats, drcEntries: this.dispatcher?.drc.size ?? 0, locks: this.state?.locks.size ?? 0 };
  }

  /** Stops listening, closes connections, unregisters from rpcbind. Backends are the caller's to close. */
  async stop(): Promise<void> {
    for (const m of this.registered) await pmapCall(PMAPPROC_UNSET, m);
    this.registered = [];
    await Promise.all(
      this.servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            for (const sock of this.sockets) sock.destroy();
          }),
      ),
    );
    this.servers = [];
  }
}

function fail(msg: string): never {
  throw new Error(msg);
}
