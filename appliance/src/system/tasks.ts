/**
 * Long work (heal, brick replace, a forced reconcile) as tasks with
 * progress, listed by /api/v1/tasks. A task is a function that reports
 * progress (0..1 and a message) and honours its AbortSignal; the manager
 * keeps the last MAX_KEPT finished tasks.
 */
import { randomBytes } from 'node:crypto';

export type TaskState = 'running' | 'done' | 'failed' | 'cancelled';

export interface TaskInfo {
  id: string;
  kind: string;
  title: string;
  state: TaskState;
  progress: number;
  message: string;
  startedBy: string;
  startedAt: string;
  endedAt?: string;
  error?: string;
}

export interface TaskControl {
  progress(fraction: number, message?: string): void;
  signal: AbortSignal;
}

const MAX_KEPT = 200;

export class Tasks {
  private readonly tasks = new Map<string, { info: TaskInfo; abort: AbortController; done: Promise<void> }>();

  start(kind: string, title: string, startedBy: string, work: (t: TaskControl) => Promise<string | void>): TaskInfo {
    const id = randomBytes(6).toString('hex');
    const abort = new AbortController();
    const info: TaskInfo = { id, kind, title, state: 'running', progress: 0, message: 'started', startedBy, startedAt: new Date().toISOString() };
    const control: TaskControl = {
      signal: abort.signal,
      progress: (fraction, message) => {
        if (info.state !== 'running') return;
        info.progress = Math.max(0, Math.min(1, fraction));
        if (message !== undefined) info.message = message;
      },
    };
    const done = (async () => {
      try {
        const msg = await work(control);
        info.state = abort.signal.aborted ? 'cancelled' : 'done';
        info.progress = info.state === 'done' ? 1 : info.progress;
        info.message = typeof msg === 'string' ? msg : info.state;
      } catch (e) {
        info.state = abort.signal.aborted ? 'cancelled' : 'failed';
        info.error = (e as Error).message;
        info.message = info.state;
      }
      info.endedAt = new Date().toISOString();
      this.prune();
    })();
    this.tasks.set(id, { info, abort, done });
    return { ...info };
  }

  list(): TaskInfo[] {
    return [...this.tasks.values()].map((t) => ({ ...t.info })).reverse();
  }

  get(id: string): TaskInfo | undefined {
    const t = this.tasks.get(id);
    return t && { ...t.info };
  }

  cancel(id: string): TaskInfo | undefined {
    const t = this.tasks.get(id);
    if (!t) return undefined;
    if (t.info.state === 'running') t.abort.abort(new Error('cancelled'));
    return { ...t.info };
  }

  async wait(id: string): Promise<TaskInfo | undefined> {
    const t = this.tasks.get(id);
    if (!t) return undefined;
    await t.done;
    return { ...t.info };
  }

  /** Cancels running tasks and waits for them (shutdown). */
  async close(): Promise<void> {
    for (const t of this.tasks.values()) if (t.info.state === 'running') t.abort.abort(new Error('shutdown'));
    await Promise.all([...this.tasks.values()].map((t) => t.done));
  }

  private prune(): void {
    const finished = [...this.tasks.entries()].filter(([, t]) => t.info.state !== 'running');
    for (const [id] of finished.slice(0, Math.max(0, finished.length - MAX_KEPT))) this.tasks.delete(id);
  }
}
