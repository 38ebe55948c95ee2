/**
 * The NFS driver: serves every share whose `nfs.enabled` is set, as the
 * export `/<share name>`, from our own NFSv3 + MOUNTv3 server (server.ts).
 *
 * - One NfsServer for the appliance, started on the first apply, on the
 *   port in `settings.nfs.port` (2049) unless cairnd was given `--nfs-port`;
 *   restarted only when the port changes. Export changes are hot
 *   (`setExports`): clients of unchanged exports keep their connections.
 * - One backend per exported directory, kept open while the share is
 *   exported (its fd cache lives there) and closed when the share goes.
 *   Shares on a local pool use the posix backend rooted at the share's own
 *   directory, so no handle or `..` reaches outside the share. Shares on a
 *   gluster pool use the gfapi backend on the pool's volume (named after
 *   the pool id), rooted at the share's directory inside it (made by the
 *   pool/gluster driver, which runs first); one backend per volume and
 *   directory, and all of them share the volume's one glfs_t.
 * - The file handle secret lives in DATA_DIR/nfs/fh-secret: handles stay
 *   valid across restarts. When the appliance joins a cluster, the cluster
 *   module writes the cluster-wide secret to this same file (daemon.ts
 *   handleSecretFileOf), so every member signs handles alike.
 * - A share that cannot be served is a problem of that share; the others
 *   are served all the same.
 */
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { glusterShareDir, volfileServerOf, volumeNameOf } from '../pool/gluster/driver.js';
import { localSharePath } from '../pool/local/driver.js';
import type { Driver, DriverResult, Problem } from '../reconcile/driver.js';
import type { Share, State } from '../state/schema.js';
import type { Backend } from './backend/backend.js';
import { openPosixBackend } from './backend/posix/index.js';
import type { ClientRule, ExportSpec } from './exports.js';
import { loadHandleSecret } from './backend/filehandle.js';
import { NfsServer } from './server.js';

export interface NfsDriverOptions {
  dataDir: string;
  log: Logger;
  /** Overrides settings.nfs.port (0 = any free port: tests). */
  port?: number;
  host?: string;
  /** Register with the system rpcbind when it answers (the appliance: yes). */
  rpcbind?: boolean;
  /** How a directory becomes a backend (tests may swap it). */
  openBackend?: (dir: string) => Promise<Backend>;
  /** The glusterd libgfapi asks for volume files; default: the pool's first brick host. */
  glusterVolfileServer?: string;
  /** How a directory of a Gluster volume becomes a backend (default: gfapi). */
  openGlusterBackend?: (volume: string, volfileServer: string, subdir: string) => Promise<Backend>;
}

async function openGfapi(volume: string, volfileServer: string, subdir: string): Promise<Backend> {
  const { openGfapiBackend } = await import('./backend/gfapi/index.js');
  return openGfapiBackend({ volume, volfileServer, subdir });
}

/** The export path clients mount for a share. */
export function exportPathOf(share: Pick<Share, 'name'>): string {
  return `/${share.name}`;
}

export function clientRulesOf(share: Share): ClientRule[] {
  return share.nfs.clients.map((c) => ({
    match: c.match,
    readOnly: c.access === 'ro',
    squash: c.squash,
    anonUid: c.anonUid,
    anonGid: c.anonGid,
    secure: c.secure,
  }));
}

export class NfsDriver implements Driver {
  readonly name = 'nfs';
  private server?: NfsServer;
  private port?: number;
  private wantedPort?: number;
  /** The handle secret the running server signs with (to notice the cluster's replacing it). */
  private secretInUse?: Buffer;
  private readonly backends = new Map<string, Backend>();

  constructor(private readonly opts: NfsDriverOptions) {}

  /** The port NFS and MOUNT listen on, once started. */
  get listeningPort(): number | undefined {
    return this.port;
  }

  async apply(state: State, signal: AbortSignal): Promise<DriverResult> {
    const problems: Problem[] = [];
    const specs: ExportSpec[] = [];
    const used = new Set<string>();
    for (const share of state.shares) {
      if (!share.nfs.enabled) continue;
      signal.throwIfAborted();
      const pool = state.pools.find((p) => p.id === share.pool);
      if (!pool) {
        problems.push({ objectKind: 'share', objectId: share.name, message: `NFS: pool ${share.pool} does not exist` });
        continue;
      }
      let key: string;
      let open: () => Promise<Backend>;
      try {
        if (pool.kind === 'local') {
          const dir = localSharePath(pool, share);
          key = dir;
          open = () => (this.opts.openBackend ?? openPosixBackend)(dir);
        } else {
          const volume = volumeNameOf(pool);
          const server = volfileServerOf(pool, this.opts.glusterVolfileServer);
          const subdir = glusterShareDir(share);
          key = `gluster:${volume}@${server}:${subdir}`;
          open = () => (this.opts.openGlusterBackend ?? openGfapi)(volume, server, subdir);
        }
      } catch (e) {
        problems.push({ objectKind: 'share', objectId: share.name, message: `NFS: ${(e as Error).message}` });
        continue;
      }
      try {
        let backend = this.backends.get(key);
        if (!backend) {
          backend = await open();
          this.backends.set(key, backend);
        }
        used.add(key);
        specs.push({ path: exportPathOf(share), backend, clients: clientRulesOf(share) });
      } catch (e) {
        const where = key.startsWith('gluster:') ? key.slice('gluster:'.length) : key;
        problems.push({ objectKind: 'share', objectId: share.name, message: `NFS: cannot open ${where}: ${(e as Error).message}` });
      }
    }

    const port = this.opts.port ?? state.settings.nfs.port;
    const secretFile = join(this.opts.dataDir, 'nfs', 'fh-secret');
    if (this.server && this.wantedPort !== port) {
      await this.server.stop();
      this.server = undefined;
    }
    // Joining a cluster replaces the secret (cluster/cluster.ts acceptJoin,
    // then a reconcile): restart so this appliance's handles are the
    // cluster's. Its clients' old handles go stale once; a failover later does not.
    if (this.server && this.secretInUse && !(await loadHandleSecret(secretFile)).equals(this.secretInUse)) {
      this.opts.log.info('nfs: the file handle secret changed (joined a cluster): restarting the NFS server');
      await this.server.stop();
      this.server = undefined;
    }
    if (!this.server) {
      const secret = await loadHandleSecret(secretFile);
      const server = new NfsServer({ handleSecret: secret, log: this.opts.log, exports: specs, stateDir: join(this.opts.dataDir, 'nfs', 'nlm') });
      try {
        const bound = await server.start({ host: this.opts.host ?? '0.0.0.0', port, rpcbind: this.opts.rpcbind ?? false });
        this.server = server;
        this.secretInUse = secret;
        this.wantedPort = port;
        this.port = bound.port;
        this.opts.log.info({ port: bound.port, exports: specs.map((s) => s.path) }, 'nfs listening');
      } catch (e) {
        await server.stop().catch(() => {});
        const code = (e as NodeJS.ErrnoException).code;
        const why = code === 'EADDRINUSE' ? `port ${port} is in use (another NFS server?)` : (e as Error).message;
        throw new Error(`NFS server cannot start: ${why}`);
      }
    } else {
      this.server.setExports(specs);
    }

    for (const [dir, backend] of this.backends) {
      if (used.has(dir)) continue;
      this.backends.delete(dir);
      await backend.close().catch((err: unknown) => this.opts.log.warn({ err, dir }, 'closing an NFS backend failed'));
    }
    return { problems, summary: `NFS :${this.port} ${specs.length} export(s)` };
  }

  async close(): Promise<void> {
    await this.server?.stop();
    this.server = undefined;
    for (const b of this.backends.values()) await b.close().catch(() => {});
    this.backends.clear();
  }
}
