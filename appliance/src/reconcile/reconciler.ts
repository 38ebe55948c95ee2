/**
 * Drives every driver toward the desired state: once on start, after each
 * committed change, and again with exponential backoff while any driver
 * reports problems or fails. Passes never overlap: a change during a pass
 * marks it dirty and one more pass follows with the newest state. Drivers
 * run in order (pools before the exports that live on them), each bounded
 * by a timeout. The desired state is only read: a failing component never
 * loses it, and what could not be done is kept per driver and per object
 * for the API.
 */
import type { Logger } from '../log.js';
import type { State } from '../state/schema.js';
import type { Driver, Problem } from './driver.js';

export interface DriverStatus {
  name: string;
  ok: boolean;
  summary?: string;
  error?: string;
  problems: Problem[];
  durationMs: number;
  finishedAt: string;
}

export interface ReconcileStatus {
  phase: 'idle' | 'running' | 'waiting-retry' | 'stopped';
  /** Revision of the state the last finished pass applied. */
  appliedRevision: number | null;
  lastRunAt: string | null;
  nextRetryAt: string | null;
  attempt: number;
  drivers: DriverStatus[];
  problems: Array<Problem & { driver: string }>;
}

export interface ReconcilerOptions {
  drivers: Driver[];
  /** The current state and its revision (the store). */
  current: () => { state: State; revision: number };
  log: Logger;
  driverTimeoutMs?: number;
  backoff?: { initialMs: number; maxMs: number };
  /** Called after each pass (metrics, systemd status). */
  onPass?: (status: ReconcileStatus) => void;
}

export class Reconciler {
  private phase: ReconcileStatus['phase'] = 'idle';
  private running: Promise<void> | undefined;
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private nextRetryAt: number | null = null;
  private appliedRevision: number | null = null;
  private lastRunAt: string | null = null;
  private readonly statuses = new Map<string, DriverStatus>();
  /** Problems by "kind\0id", rebuilt after each driver run (the API asks per object, often). */
  private problemIndex = new Map<string, Array<Problem & { driver: string }>>();
  private readonly abort = new AbortController();
  private readonly timeoutMs: number;
  private readonly backoff: { initialMs: number; maxMs: number };

  constructor(private readonly opts: ReconcilerOptions) {
    this.timeoutMs = opts.driverTimeoutMs ?? 120_000;
    this.backoff = opts.backoff ?? { initialMs: 1000, maxMs: 60_000 };
  }

  get drivers(): readonly Driver[] {
    return this.opts.drivers;
  }

  /** Asks for a pass now (a change happened); resolves when a pass that saw it has finished. */
  trigger(): Promise<void> {
    if (this.phase === 'stopped') return Promise.resolve();
    this.clearRetry();
    this.attempt = 0;
    if (this.running) {
      this.dirty = true;
      return this.running.then(() => this.running ?? undefined);
    }
    this.running = this.loop().finally(() => (this.running = undefined));
    return this.running;
  }

  status(): ReconcileStatus {
    const drivers = this.opts.drivers.map((d) => this.statuses.get(d.name)).filter((s): s is DriverStatus => s !== undefined);
    return {
      phase: this.phase,
      appliedRevision: this.appliedRevision,
      lastRunAt: this.lastRunAt,
      nextRetryAt: this.nextRetryAt === null ? null : new Date(this.nextRetryAt).toISOString(),
      attempt: this.attempt,
      drivers,
      problems: drivers.flatMap((d) => d.problems.map((p) => ({ ...p, driver: d.name }))),
    };
  }

  /** Problems for one object, e.g. problemsFor('share', 'projects'). */
  problemsFor(kind: string, id: string): Array<Problem & { driver: string }> {
    return this.problemIndex.get(`${kind}\0${id}`) ?? [];
  }

  private reindex(): void {
    const index = new Map<string, Array<Problem & { driver: string }>>();
    for (const d of this.statuses.values()) {
      for (const p of d.problems) {
        const k = `${p.objectKind}\0${p.objectId}`;
        index.set(k, [...(index.get(k) ?? []), { ...p, driver: d.name }]);
      }
    }
    this.problemIndex = index;
  }

  async stop(): Promise<void> {
    this.phase = 'stopped';
    this.clearRetry();
    this.abort.abort(new Error('shutdown'));
    await this.running;
  }

  private clearRetry(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.nextRetryAt = null;
  }

  private async loop(): Promise<void> {
    do {
      this.dirty = false;
      await this.pass();
    } while (this.dirty && this.phase !== 'stopped');
  }

  private async pass(): Promise<void> {
    this.phase = 'running';
    const { state, revision } = this.opts.current();
    let troubled = false;
    for (const driver of this.opts.drivers) {
      if (this.abort.signal.aborted) break;
      const st = await this.runDriver(driver, state);
      this.statuses.set(driver.name, st);
      this.reindex();
      if (!st.ok || st.problems.length) troubled = true;
    }
    this.appliedRevision = revision;
    this.lastRunAt = new Date().toISOString();
    if (this.abort.signal.aborted) {
      this.phase = 'stopped';
      return;
    }
    if (troubled && !this.dirty) {
      const delay = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** this.attempt);
      this.attempt++;
      this.nextRetryAt = Date.now() + delay;
      this.phase = 'waiting-retry';
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.nextRetryAt = null;
        if (!this.running) this.running = this.loop().finally(() => (this.running = undefined));
        else this.dirty = true;
      }, delay);
      this.timer.unref();
      this.opts.log.warn({ attempt: this.attempt, retryInMs: delay, problems: this.status().problems.length }, 'reconcile: problems remain, retrying');
    } else {
      if (!troubled) this.attempt = 0;
      this.phase = 'idle';
    }
    try {
      this.opts.onPass?.(this.status());
    } catch (err) {
      this.opts.log.warn({ err }, 'reconcile: onPass hook failed');
    }
  }

  private async runDriver(driver: Driver, state: State): Promise<DriverStatus> {
    const started = Date.now();
    // A timer of our own (AbortSignal.timeout's is unref'd and would let a
    // process with nothing else to do exit under a hung driver).
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new Error(`timed out after ${this.timeoutMs} ms`)), this.timeoutMs);
    const signal = AbortSignal.any([this.abort.signal, timeout.signal]);
    try {
      const res = await driver.apply(state, signal);
      return {
        name: driver.name,
        ok: true,
        ...(res.summary !== undefined ? { summary: res.summary } : {}),
        problems: res.problems,
        durationMs: Date.now() - started,
        finishedAt: new Date().toISOString(),
      };
    } catch (e) {
      const message = signal.aborted && !this.abort.signal.aborted ? `timed out after ${this.timeoutMs} ms` : (e as Error).message;
      this.opts.log.error({ driver: driver.name, err: e }, 'reconcile: driver failed');
      return {
        name: driver.name,
        ok: false,
        error: message,
        problems: [{ objectKind: 'driver', objectId: driver.name, message }],
        durationMs: Date.now() - started,
        finishedAt: new Date().toISOString(),
      };
    } finally {
      clearTimeout(timer);
    }
  }
}
