/**
 * Lock recovery across a restart of the server (the NSM protocol's server
 * side, what rpc.statd and lockd's grace period do for knfsd):
 *
 *   - every client host that takes a lock is remembered in STATE_DIR
 *     (`nlm-clients.json`: its caller_name, its address, and the server
 *     address it reached us at), written before the lock is granted;
 *   - at start, the server's NSM state number (`nsm-state`, odd while up)
 *     goes up, and each remembered host's statd gets SM_NOTIFY(mon_name =
 *     the address it mounted us by, state): its kernel then reclaims the
 *     locks it held (NLM LOCK with reclaim set);
 *   - for `graceMs` after such a start, only reclaims are granted: a new
 *     LOCK or a TEST is answered NLM4_DENIED_GRACE_PERIOD (Linux clients
 *     retry every 5 s), so no other host can take a lock whose holder has
 *     not reclaimed it yet. With no remembered host there is no grace.
 *
 * Without a state directory (tests, `nfs-serve` without --state-dir)
 * nothing is remembered and nothing is notified.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../state/atomic.js';
import { plainAddress } from '../exports.js';
import { rpcCall } from '../rpc/call.js';
import { pmapGetPort } from '../rpc/portmap.js';
import type { Logger } from '../rpc/program.js';
import { XdrWriter } from '../xdr/writer.js';
import { NSM_PROGRAM, NSM_V1 } from './nsm.js';

const SM_NOTIFY = 6;
export const DEFAULT_GRACE_MS = 45_000;

export interface LockClient {
  /** caller_name: the name FREE_ALL and SM_NOTIFY use for the host. */
  name: string;
  /** Where its statd is asked for (through its portmapper). */
  address: string;
  /** The address it reached this server at: the name its statd monitors us by. */
  server: string;
}

export interface MonitorOptions {
  /** Where the client list and the state number live; none: nothing is kept. */
  dir?: string;
  log: Logger;
  graceMs?: number;
  /** The clients' portmapper port (111; tests use their own). */
  portmapperPort?: number;
}

export class NlmMonitor {
  private clients = new Map<string, LockClient>();
  private graceUntil = 0;
  private writing: Promise<void> = Promise.resolve();
  /** This server's NSM state number (odd while it runs). */
  state = 1;

  constructor(private readonly opts: MonitorOptions) {}

  /**
   * Bumps the state number, and if hosts held locks before this start,
   * opens the grace period and tells their statds (in the background:
   * resolves once the state is on disk). Returns the hosts notified.
   */
  async start(): Promise<LockClient[]> {
    const dir = this.opts.dir;
    if (!dir) return [];
    await mkdir(dir, { recursive: true });
    const before = Number((await readFile(join(dir, 'nsm-state'), 'utf8').catch(() => '0')).trim()) || 0;
    this.state = before % 2 === 1 ? before + 2 : before + 1;
    await this.atomicWrite('nsm-state', `${this.state}\n`);
    let held: LockClient[] = [];
    try {
      const parsed = JSON.parse(await readFile(join(dir, 'nlm-clients.json'), 'utf8')) as unknown;
      if (Array.isArray(parsed)) held = parsed.filter((c): c is LockClient => typeof c?.name === 'string' && typeof c?.address === 'string' && typeof c?.server === 'string');
    } catch {
      // No list (first start) or an unreadable one: nobody to tell.
    }
    // Hosts come back into the list as they reclaim.
    await this.persist();
    if (held.length === 0) return [];
    this.graceUntil = Date.now() + (this.opts.graceMs ?? DEFAULT_GRACE_MS);
    this.opts.log.info({ hosts: held.map((c) => c.name), state: this.state, graceMs: this.opts.graceMs ?? DEFAULT_GRACE_MS }, 'NLM: restarted with lock clients; notifying them, grace period open');
    for (const c of held) void this.notify(c);
    return held;
  }

  /** Whether new locks must wait (NLM4_DENIED_GRACE_PERIOD). */
  inGrace(now = Date.now()): boolean {
    return now < this.graceUntil;
  }

  /**
   * A host may take a lock: remember it, on disk before the caller grants.
   * False when it could not be written (full or failing disk): the caller
   * must refuse the lock, which a restart could not tell the host about
   * (as lockd answers NOLOCKS when statd cannot monitor a host).
   */
  async note(name: string, address: string, server: string): Promise<boolean> {
    if (!this.opts.dir || this.clients.has(name)) return true;
    const c = { name, address: plainAddress(address), server: plainAddress(server) };
    this.clients.set(name, c);
    const saved = await this.persist();
    if (!saved && this.clients.get(name) === c) this.clients.delete(name);
    return saved;
  }

  /** A host rebooted or freed everything: nothing to tell it after our restart. */
  async forget(name: string): Promise<void> {
    if (!this.clients.delete(name)) return;
    await this.persist();
  }

  get hosts(): LockClient[] {
    return [...this.clients.values()];
  }

  /** SM_NOTIFY to one host's statd, retried a few times within the grace period. */
  private async notify(c: LockClient): Promise<void> {
    const args = new XdrWriter().string(c.server).i32(this.state).toBuffer();
    const deadline = this.graceUntil;
    for (let wait = 500; ; wait *= 2) {
      const port = await pmapGetPort(c.address, NSM_PROGRAM, NSM_V1, { port: this.opts.portmapperPort });
      if (port && (await rpcCall({ host: c.address, port }, NSM_PROGRAM, NSM_V1, SM_NOTIFY, args))) {
        this.opts.log.info({ host: c.name, address: c.address, monName: c.server, state: this.state }, 'NLM: told a lock client we restarted (SM_NOTIFY)');
        return;
      }
      if (Date.now() + wait > deadline) break;
      await new Promise((r) => setTimeout(r, wait).unref());
    }
    this.opts.log.warn({ host: c.name, address: c.address }, 'NLM: a lock client could not be told we restarted; its locks are not reclaimed');
  }

  /** Writes the client list (one write at a time, each replacing the file whole); false when it failed. */
  private persist(): Promise<boolean> {
    const body = JSON.stringify(this.hosts, null, 1);
    const run = this.writing.then(() => this.atomicWrite('nlm-clients.json', body));
    this.writing = run.catch(() => undefined);
    return run.then(
      () => true,
      (err: unknown) => {
        this.opts.log.error({ err }, 'NLM: cannot save the lock clients');
        return false;
      },
    );
  }

  /** Replaces a file whole and durably, its name too (a lock is granted only once its holder is on disk). */
  private atomicWrite(name: string, body: string): Promise<void> {
    return writeFileAtomic(join(this.opts.dir!, name), body, 0o644);
  }
}
