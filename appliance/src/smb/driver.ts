/**
 * The SMB driver: turns the state document into an `SmbDesired` (the only
 * place that knows both shapes) and hands it to SambaService, which renders
 * smb.conf, checks it with testparm, syncs the passdb and runs smbd.
 *
 * smbd is started on the first apply that has an SMB share, so an
 * appliance without SMB shares runs no Samba at all; once started it stays
 * up (users may still log in to list shares) until cairnd stops.
 * Problems come back per share or user, with the state object they belong to.
 */
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { glusterShareDir, volfileServerOf, volumeNameOf } from '../pool/gluster/driver.js';
import { localSharePath } from '../pool/local/driver.js';
import type { Driver, DriverResult, Problem } from '../reconcile/driver.js';
import type { Pool, Share, State } from '../state/schema.js';
import { SambaService } from './samba.js';
import type { SmbDesired, SmbShare, SmbShareBackend } from './types.js';

export interface SmbDriverOptions {
  dataDir: string;
  log: Logger;
  /** smbd's port: 445 on the appliance; 0 = a free port picked at start (tests). */
  port: number;
  /** The glusterd vfs_glusterfs asks for volume files; default: the pool's first brick host. */
  glusterVolfileServer?: string;
}

/** Where a share's files are for Samba: a local directory, or a directory of a Gluster volume (vfs_glusterfs). */
function backendOf(pool: Pool, share: Share, glusterVolfileServer?: string): SmbShareBackend {
  if (pool.kind === 'local') return { kind: 'local', path: localSharePath(pool, share) };
  return { kind: 'gluster', volume: volumeNameOf(pool), volfileServers: [volfileServerOf(pool, glusterVolfileServer)], path: glusterShareDir(share) };
}

/** The SMB part of the state document, in Samba's terms. */
export function smbDesiredOf(state: State, port: number, opts: { glusterVolfileServer?: string } = {}): SmbDesired {
  const shares: SmbShare[] = [];
  for (const s of state.shares) {
    if (!s.smb.enabled) continue;
    const pool = state.pools.find((p) => p.id === s.pool);
    if (!pool) continue; // reported by smbProblemsOf
    let backend: SmbShareBackend;
    try {
      backend = backendOf(pool, s, opts.glusterVolfileServer);
    } catch {
      continue; // reported by smbProblemsOf
    }
    shares.push({
      name: s.name,
      backend,
      readOnly: s.smb.readOnly,
      browseable: s.smb.browseable,
      guestOk: s.smb.guestOk,
      validUsers: s.smb.validUsers,
      validGroups: s.smb.validGroups,
      hostsAllow: s.smb.hostsAllow,
      recycleBin: { enabled: s.smb.recycleBin },
      macos: { enabled: s.smb.macos, timeMachine: s.smb.timeMachine },
      encryption: s.smb.encryption,
    });
  }
  return {
    server: {
      netbiosName: state.settings.applianceName.slice(0, 15).toUpperCase(),
      workgroup: state.settings.smb.workgroup,
      port,
      serverString: `Cairn ${state.settings.applianceName}`,
    },
    shares,
    users: state.users.map((u) => ({ name: u.name, uid: u.uid, ntHash: u.ntHash, enabled: u.enabled })),
    groups: state.groups.map((g) => ({ name: g.name, gid: g.gid, members: g.members })),
  };
}

function smbProblemsOf(state: State): Problem[] {
  const problems: Problem[] = [];
  for (const s of state.shares) {
    if (!s.smb.enabled) continue;
    const pool = state.pools.find((p) => p.id === s.pool);
    if (!pool) {
      problems.push({ objectKind: 'share', objectId: s.name, message: `SMB: pool ${s.pool} does not exist` });
      continue;
    }
    try {
      backendOf(pool, s);
    } catch (e) {
      problems.push({ objectKind: 'share', objectId: s.name, message: `SMB: ${(e as Error).message}` });
    }
  }
  return problems;
}

/** Maps a problem path of SmbDesired ("shares.2.hostsAllow.0") to the state object. */
function toProblem(desired: SmbDesired, path: string, message: string): Problem {
  const [kind, index] = path.split('.');
  const i = Number(index);
  if (kind === 'shares' && desired.shares[i]) return { objectKind: 'share', objectId: desired.shares[i]!.name, message: `SMB: ${message}` };
  if (kind === 'users' && desired.users[i]) return { objectKind: 'user', objectId: desired.users[i]!.name, message: `SMB: ${message}` };
  if (kind === 'groups' && desired.groups[i]) return { objectKind: 'group', objectId: desired.groups[i]!.name, message: `SMB: ${message}` };
  return { objectKind: 'driver', objectId: 'smb', message: `SMB: ${path ? `${path}: ` : ''}${message}` };
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

export class SmbDriver implements Driver {
  readonly name = 'smb';
  private readonly service: SambaService;
  private started = false;
  private announced = false;
  private port?: number;

  constructor(private readonly opts: SmbDriverOptions) {
    this.service = new SambaService({ dataDir: join(opts.dataDir, 'samba'), logger: opts.log });
  }

  /** smbd's port once started. */
  get listeningPort(): number | undefined {
    return this.port;
  }

  async apply(state: State, signal: AbortSignal): Promise<DriverResult> {
    const problems = smbProblemsOf(state);
    const wanted = state.shares.some((s) => s.smb.enabled);
    if (!wanted && !this.started) return { problems, summary: 'SMB off (no shares)' };
    this.port ??= this.opts.port === 0 ? await freePort() : this.opts.port;
    const desired = smbDesiredOf(state, this.port, { glusterVolfileServer: this.opts.glusterVolfileServer });
    signal.throwIfAborted();
    if (!this.started) {
      await this.service.start();
      this.started = true;
    }
    const result = await this.service.apply(desired);
    if (!this.announced && this.service.status().running) {
      this.announced = true;
      this.opts.log.info({ port: this.port }, 'smb listening');
    }
    for (const p of result.problems) problems.push(toProblem(desired, p.path, p.message));
    return { problems, summary: `SMB :${this.port} ${desired.shares.length} share(s)` };
  }

  async close(): Promise<void> {
    if (this.started) await this.service.stop();
    this.started = false;
  }
}
