/**
 * Brick state and heal backlog from /metrics (`cairn_brick_healthy` and
 * `cairn_heal_pending_entries`, labelled {pool, brick="host:/path"}), for
 * pools whose API view lists bricks without their state.
 */
import type { Scrape } from './prom.js';

export interface BrickHealth {
  healthy?: boolean;
  healPending?: number;
}

/** "pool host:/path" → health, from one scrape. */
export function brickHealth(scrape: Scrape): Map<string, BrickHealth> {
  const out = new Map<string, BrickHealth>();
  for (const s of scrape.samples) {
    const pool = s.labels.pool;
    const brick = s.labels.brick;
    if (pool === undefined || brick === undefined || !Number.isFinite(s.value)) continue;
    const key = `${pool} ${brick}`;
    const h = out.get(key) ?? {};
    if (s.name === 'cairn_brick_healthy') h.healthy = s.value >= 1;
    else if (s.name === 'cairn_heal_pending_entries') h.healPending = s.value;
    else continue;
    out.set(key, h);
  }
  return out;
}

export function brickKey(pool: string, host: string, path: string): string {
  return `${pool} ${host}:${path}`;
}
