/**
 * Heal progress of a gluster pool as GET /pools/:id reports it (`heal`,
 * null or absent when nothing is known), turned into what the pools page
 * shows: entries pending per brick and an estimate of the time left.
 */

export interface HealView {
  pending: number;
  perBrick: Array<{ brick: string; pending: number }>;
  ratePerSec: number | null;
  etaSeconds: number | null;
  sampledAt: string;
}

const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The pool's heal view, or null when absent, null or not in the expected shape. */
export function healOf(pool: unknown): HealView | null {
  if (!pool || typeof pool !== 'object') return null;
  const h = (pool as { heal?: unknown }).heal;
  if (!h || typeof h !== 'object') return null;
  const o = h as Record<string, unknown>;
  if (!num(o.pending) || o.pending < 0) return null;
  const perBrick = Array.isArray(o.perBrick)
    ? o.perBrick.filter((b): b is { brick: string; pending: number } => !!b && typeof b === 'object' && typeof (b as { brick?: unknown }).brick === 'string' && num((b as { pending?: unknown }).pending))
    : [];
  return {
    pending: o.pending,
    perBrick: perBrick.map((b) => ({ brick: b.brick, pending: b.pending })),
    ratePerSec: num(o.ratePerSec) ? o.ratePerSec : null,
    etaSeconds: num(o.etaSeconds) && o.etaSeconds >= 0 ? o.etaSeconds : null,
    sampledAt: typeof o.sampledAt === 'string' ? o.sampledAt : '',
  };
}

/** "about 3 min left", "less than a minute left", "about 2 h 10 min left"; null seconds: unknown. */
export function timeLeft(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return 'time left not known yet';
  if (seconds < 60) return 'less than a minute left';
  const min = Math.round(seconds / 60);
  if (min < 60) return `about ${min} min left`;
  const h = Math.floor(min / 60);
  const m = min % 60;
  if (h >= 48) return `about ${Math.round(h / 24)} days left`;
  return m ? `about ${h} h ${m} min left` : `about ${h} h left`;
}

export function entries(n: number): string {
  return `${n} entr${n === 1 ? 'y' : 'ies'}`;
}

/** One line for the pool: "12 entries waiting to heal, about 3 min left (40 entries/s)", or that all is healed. */
export function healSummary(h: HealView): string {
  if (h.pending === 0) return 'Nothing waiting to heal.';
  const rate = h.ratePerSec !== null && h.ratePerSec > 0 ? ` (${h.ratePerSec >= 10 ? Math.round(h.ratePerSec) : h.ratePerSec.toFixed(1)} entries/s)` : '';
  return `${entries(h.pending)} waiting to heal, ${timeLeft(h.etaSeconds)}${rate}.`;
}

/** Pending entries of one brick ("host:/path"), undefined when the view does not list it. */
export function brickPending(h: HealView | null, brick: string): number | undefined {
  return h?.perBrick.find((b) => b.brick === brick)?.pending;
}

/** How often the pools page reloads a pool: at most every 5 s while entries are pending. */
export function refreshMs(heals: Array<HealView | null>): number {
  return heals.some((h) => h !== null && h.pending > 0) ? 3000 : 10000;
}
