/**
 * The cluster's shared document on the mounted `cairn-state` volume:
 *
 *   DIR/state.json               the head {revision, at, who, origin, message, diff, shared}
 *   DIR/revisions/00000042.json  every kept revision (same shape)
 *   DIR/.lock                    the lock file
 *
 * A write is: take an exclusive lock on DIR/.lock, read the head, refuse
 * if it is not the revision the writer built on (another appliance wrote
 * meanwhile: CONFLICT), write the revision file and then the head, each
 * with temp file + fsync + rename (state/atomic.ts), release the lock. The
 * rename of state.json is the commit point, as in the local store; readers
 * never take the lock (rename is atomic, a reader sees the old or the new
 * head).
 *
 * The lock: flock(2) through util-linux `flock FILE cat` (Node has no
 * file-lock call): `flock` takes the lock, then runs `cat`, which echoes a
 * line we send once it runs — that echo means "held"; closing cat's stdin
 * ends it and releases the lock. Gluster's FUSE client passes flock to the
 * bricks' features/locks translator, so the lock holds across appliances
 * (checked by the lab test). A lock that cannot be had within
 * `lockTimeoutMs` (a brick majority unreachable, or a writer hung), and
 * Gluster refusing the lock or the write itself (EROFS: client quorum
 * lost; ENOTCONN/EIO: bricks gone), are NO_QUORUM.
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../state/atomic.js';
import { diff, type DiffOp } from '../state/diff.js';
import { ClusterError } from './errors.js';
import { checkSharedPart, upgradeSharedPart, type SharedPart } from './shared-state.js';

export interface SharedHead {
  revision: number;
  at: string;
  who: string;
  /** The appliance that wrote it. */
  origin: string;
  message: string;
  diff: DiffOp[];
  shared: SharedPart;
}

export interface SharedStateFileOptions {
  /** Default 15 s: longer than the volume's ping timeout, so a dead brick is noticed first. */
  lockTimeoutMs?: number;
  /** Revisions kept on the volume (default 200). */
  keepRevisions?: number;
}

const fileOf = (rev: number) => `${String(rev).padStart(8, '0')}.json`;
const QUORUM_ERRNOS = new Set(['EROFS', 'ENOTCONN', 'EIO', 'ESTALE', 'ETIMEDOUT', 'EHOSTDOWN']);

export class SharedStateFile {
  constructor(
    readonly dir: string,
    private readonly opts: SharedStateFileOptions = {},
  ) {}

  /** The head, or undefined when none was written yet. Throws on an unreadable volume. */
  async read(): Promise<SharedHead | undefined> {
    let text: string;
    try {
      text = await readFile(join(this.dir, 'state.json'), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw mapIoError(e, 'read');
    }
    const head = JSON.parse(text) as SharedHead;
    head.shared = upgradeSharedPart(head.shared) as SharedHead['shared'];
    if (!Number.isInteger(head.revision) || !checkSharedPart(head.shared)) {
      throw new ClusterError('STATE_UNAVAILABLE', `the cluster state document (revision ${String(head.revision)}) has a schema this cairnd does not know: upgrade every appliance to the same version`);
    }
    return head;
  }

  /**
   * Writes `shared` as revision `expect + 1` (expect 0: the first). Throws
   * CONFLICT when the head is not revision `expect`.
   */
  async write(expect: number, shared: SharedPart, meta: { who: string; origin: string; message: string }): Promise<SharedHead> {
    return this.withLock(async () => {
      const head = await this.read();
      const cur = head?.revision ?? 0;
      if (cur !== expect) {
        throw new ClusterError('STATE_CONFLICT', `the cluster state changed on ${head?.origin ?? 'another appliance'} meanwhile (now revision ${cur}, this change was made on ${expect}): retry`);
      }
      const next: SharedHead = {
        revision: cur + 1,
        at: new Date().toISOString(),
        who: meta.who,
        origin: meta.origin,
        message: meta.message,
        diff: diff(head?.shared ?? {}, shared),
        shared,
      };
      const body = `${JSON.stringify(next)}\n`;
      try {
        await mkdir(join(this.dir, 'revisions'), { recursive: true });
        await writeFileAtomic(join(this.dir, 'revisions', fileOf(next.revision)), body, 0o600);
        await writeFileAtomic(join(this.dir, 'state.json'), body, 0o600); // the commit point
      } catch (e) {
        throw mapIoError(e, 'write');
      }
      await this.prune(next.revision).catch(() => undefined);
      return next;
    });
  }

  /** A kept revision of the shared document. */
  async revision(rev: number): Promise<SharedHead | undefined> {
    try {
      return JSON.parse(await readFile(join(this.dir, 'revisions', fileOf(rev)), 'utf8')) as SharedHead;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw mapIoError(e, 'read');
    }
  }

  private async prune(newest: number): Promise<void> {
    const keep = this.opts.keepRevisions ?? 200;
    if (newest <= keep) return;
    for (const f of await readdir(join(this.dir, 'revisions'))) {
      const n = /^(\d{8})\.json$/.exec(f);
      if (n && Number(n[1]) <= newest - keep) await unlink(join(this.dir, 'revisions', f)).catch(() => undefined);
    }
  }

  /** Runs `fn` holding the exclusive lock on DIR/.lock. */
  async withLock<T>(fn: () => Promise<T>): Promise<T> {
    const timeoutMs = this.opts.lockTimeoutMs ?? 15_000;
    const lockFile = join(this.dir, '.lock');
    const child = spawn('flock', ['--exclusive', '--wait', String(Math.max(1, Math.round(timeoutMs / 1000))), lockFile, 'cat'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => {
      child.once('exit', (code) => resolve(code));
      child.once('error', () => resolve(-1));
    });
    const held = new Promise<boolean>((resolve) => {
      child.stdout.once('data', () => resolve(true));
      void exited.then(() => resolve(false));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.write('held\n');
    // flock's own --wait bounds the wait; this timer bounds a lock request stuck inside FUSE.
    let timer: NodeJS.Timeout | undefined;
    const gotIt = await Promise.race([held, new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs + 5000)))]);
    clearTimeout(timer);
    if (!gotIt) {
      child.kill('SIGKILL');
      await exited;
      if (/Read-only|Transport endpoint|Input\/output/i.test(stderr)) {
        throw new ClusterError('NO_QUORUM', `cannot lock the cluster state (${stderr.trim()}): ${NO_QUORUM_HINT}`);
      }
      // Not granted in time: a brick majority gone (the usual case) or a writer hung elsewhere.
      throw new ClusterError('NO_QUORUM', `the cluster state lock was not granted within ${timeoutMs} ms${stderr ? ` (${stderr.trim()})` : ''}: ${NO_QUORUM_HINT}`);
    }
    try {
      return await fn();
    } finally {
      child.stdin.end();
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
  }
}

export const NO_QUORUM_HINT =
  'this appliance does not reach a majority of the cluster state volume (a network partition, or other appliances are down); ' +
  'changes to pools, volumes, shares, users and groups are refused here until it does, reads still answer';

function mapIoError(e: unknown, what: string): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  if (code && QUORUM_ERRNOS.has(code)) {
    return new ClusterError('NO_QUORUM', `cannot ${what} the cluster state (${code}): ${NO_QUORUM_HINT}`);
  }
  return e;
}
