/**
 * The `pool/local` driver: a local pool is one directory (unreplicated —
 * the development and single-disk default). apply() creates the pool
 * directory, a directory per volume (<pool>/<volume>) and per share
 * (<pool>[/<volume>]/<path>); it never deletes anything (a deleted share's
 * files stay). A new share directory is world-writable (01777 would stop
 * users deleting each other's files in a team share, so plain 0777): any
 * Cairn user may write over SMB and NFS until the admin narrows access with
 * valid users, NFS client rules or permissions; an existing directory's
 * mode is never changed. Capacity comes from statfs(2) of the pool directory.
 */
import { chmod, mkdir, statfs } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Driver, DriverResult, Problem } from '../../reconcile/driver.js';
import type { LocalPool, Share, State } from '../../state/schema.js';
import type { Metrics } from '../../system/metrics.js';

export interface Capacity {
  totalBytes: number;
  usedBytes: number;
  freeBytes: number;
}

/** Where a share's directory lives on a local pool. */
export function localSharePath(pool: LocalPool, share: Share): string {
  const base = share.volume ? join(pool.path, share.volume) : pool.path;
  const full = resolve(base, share.path);
  // The schema forbids '..' and absolute paths; check anyway, it is cheap.
  if (full !== base && !full.startsWith(`${base}/`)) throw new Error(`share path ${JSON.stringify(share.path)} leaves the pool`);
  return full;
}

export async function localCapacity(path: string): Promise<Capacity> {
  const s = await statfs(path);
  const totalBytes = s.blocks * s.bsize;
  const freeBytes = s.bavail * s.bsize;
  return { totalBytes, freeBytes, usedBytes: totalBytes - s.bfree * s.bsize };
}

const message = (e: unknown) => {
  const err = e as NodeJS.ErrnoException;
  return err.code ? `${err.code}: ${err.message}` : String(err.message ?? e);
};

export class LocalPoolDriver implements Driver {
  readonly name = 'pool/local';

  constructor(private readonly metrics?: Metrics) {}

  async apply(state: State, signal: AbortSignal): Promise<DriverResult> {
    const problems: Problem[] = [];
    const pools = state.pools.filter((p): p is LocalPool => p.kind === 'local');
    const ready = new Set<string>();
    for (const pool of pools) {
      signal.throwIfAborted();
      try {
        await mkdir(pool.path, { recursive: true, mode: 0o755 });
        ready.add(pool.id);
        const c = await localCapacity(pool.path);
        this.metrics?.poolCapacityBytes.set({ pool: pool.id }, c.totalBytes);
        this.metrics?.poolUsedBytes.set({ pool: pool.id }, c.usedBytes);
      } catch (e) {
        problems.push({ objectKind: 'pool', objectId: pool.id, message: `cannot create ${pool.path}: ${message(e)}` });
      }
    }
    const byId = new Map(pools.map((p) => [p.id, p]));
    for (const v of state.volumes) {
      const pool = byId.get(v.pool);
      if (!pool || !ready.has(pool.id)) continue;
      try {
        await mkdir(join(pool.path, v.id), { recursive: true, mode: 0o755 });
      } catch (e) {
        problems.push({ objectKind: 'volume', objectId: v.id, message: `cannot create ${join(pool.path, v.id)}: ${message(e)}` });
      }
    }
    let shares = 0;
    for (const sh of state.shares) {
      signal.throwIfAborted();
      const pool = byId.get(sh.pool);
      if (!pool) continue; // not a local pool: another driver's job
      if (!ready.has(pool.id)) {
        problems.push({ objectKind: 'share', objectId: sh.name, message: `pool ${pool.id} is not available` });
        continue;
      }
      try {
        const dir = localSharePath(pool, sh);
        // mkdir returns the first directory it made, undefined if all existed.
        if ((await mkdir(dir, { recursive: true, mode: 0o755 })) !== undefined) await chmod(dir, 0o777);
        shares++;
      } catch (e) {
        problems.push({ objectKind: 'share', objectId: sh.name, message: `cannot create the share directory: ${message(e)}` });
      }
    }
    return { problems, summary: `${ready.size}/${pools.length} local pool(s), ${shares} share dir(s)` };
  }

  async capacity(state: State, poolId: string): Promise<Capacity | undefined> {
    const pool = state.pools.find((p) => p.id === poolId);
    if (!pool || pool.kind !== 'local') return undefined;
    return localCapacity(pool.path);
  }
}
