/**
 * The contract between the reconciler and the drivers of real components
 * (pool/local, pool/gluster, nfs, smb, system).
 *
 * - `apply` brings the component to `state` — the whole desired document,
 *   every time — and must be idempotent: it is called after each change, on
 *   start, and again (with backoff) while problems remain.
 * - It reports what it could not do per object as `problems`, rather than
 *   throwing; one bad share must not stop the others. Throwing means the
 *   driver as a whole failed (e.g. the component is down); the reconciler
 *   records it as a problem of the driver and retries.
 * - It must stop early when `signal` aborts (shutdown, timeout).
 * - It never changes the state document.
 */
import type { State } from '../state/schema.js';

export interface Problem {
  /** 'pool' | 'volume' | 'share' | 'user' | 'group' | 'driver' | … */
  objectKind: string;
  /** The object's id or name in the state document. */
  objectId: string;
  message: string;
}

export interface DriverResult {
  problems: Problem[];
  /** One short line for the status (e.g. "2 exports"). */
  summary?: string;
}

export interface Driver {
  readonly name: string;
  apply(state: State, signal: AbortSignal): Promise<DriverResult>;
  /** Stops what the driver runs (servers, child processes) at shutdown. */
  close?(): Promise<void>;
}
