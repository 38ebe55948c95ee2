/**
 * The state store: the current desired-state document plus its numbered
 * revisions, on disk under one directory:
 *
 *   state.json               the current revision {revision, at, who, message, state}
 *   revisions/00000042.json  every kept revision, with the diff from its parent
 *
 * A change is: clone, mutate, migrate-free validate, diff; write the
 * revision file, then replace state.json (both atomically, atomic.ts). The
 * rename of state.json is the commit point: on open, revision files newer
 * than state.json belong to a change that never committed and are removed,
 * and temporary files left by a crash are deleted. Changes are serialised.
 *
 * Rollback to revision N validates N's document (migrated to the current
 * schema) and commits it as a new revision, so history only grows.
 */
import { EventEmitter } from 'node:events';
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { TMP_MARK, writeFileAtomic } from './atomic.js';
import { diff, type DiffOp } from './diff.js';
import { migrate } from './migrations.js';
import { type State } from './schema.js';
import { StateValidationError, validateState } from './validate.js';

export interface RevisionSummary {
  revision: number;
  at: string;
  who: string;
  message: string;
  diff: DiffOp[];
}

export interface Revision extends RevisionSummary {
  state: State;
}

export class StoreError extends Error {
  constructor(
    message: string,
    readonly code: 'not_found' | 'corrupt' | 'conflict',
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

export interface StoreOptions {
  /** The document of a brand-new appliance. */
  initial: () => State;
  log?: Logger;
  /** How many revisions to keep on disk (oldest are pruned); default 1000. */
  keepRevisions?: number;
}

/**
 * Called inside a commit, after validation and before anything is written:
 * a guard may refuse the change (throw) or publish it elsewhere first (the
 * cluster's shared document, cluster/state-sync.ts). When it throws, the
 * local document stays as it was.
 */
export type CommitGuard = (prev: State, next: State, meta: { who: string; message: string }) => Promise<void>;

/** What a change function may do: edit the draft in place, or return a new document. */
export type Mutator = (draft: State) => void | State;

const fileOf = (rev: number) => `${String(rev).padStart(8, '0')}.json`;

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

export interface StoreEvents {
  commit: [Revision];
}

export class StateStore extends EventEmitter<StoreEvents> {
  private current!: Revision;
  /** Revision numbers kept on disk, ascending; summaries are read on demand. */
  private revisions: number[] = [];
  private readonly summaryCache = new Map<number, RevisionSummary>();
  private queue: Promise<unknown> = Promise.resolve();
  private guard: CommitGuard | undefined;
  private readonly revDir: string;
  private readonly keep: number;

  private constructor(
    readonly dir: string,
    private readonly opts: StoreOptions,
  ) {
    super();
    this.revDir = join(dir, 'revisions');
    this.keep = opts.keepRevisions ?? 1000;
  }

  static async open(dir: string, opts: StoreOptions): Promise<StateStore> {
    const store = new StateStore(dir, opts);
    await store.load();
    return store;
  }

  /** The current document, deeply frozen: copy it (structuredClone) before editing. */
  get state(): State {
    return this.current.state;
  }

  get revision(): number {
    return this.current.revision;
  }

  get head(): RevisionSummary {
    const { state: _s, ...rest } = this.current;
    return rest;
  }

  /**
   * Applies `mutate` to a copy of the current document, validates the result
   * and commits it as a new revision. Throws StateValidationError (with
   * every field problem) and leaves the document as it was when the result
   * is not valid. A change that changes nothing makes no revision.
   */
  update(who: string, message: string, mutate: Mutator, opts: { expectRevision?: number } = {}): Promise<Revision> {
    return this.serial(async () => {
      if (opts.expectRevision !== undefined && opts.expectRevision !== this.current.revision) {
        throw new StoreError(`the state changed meanwhile (now revision ${this.current.revision}, expected ${opts.expectRevision}): reload and retry`, 'conflict');
      }
      const draft = structuredClone(this.current.state) as State;
      const next = mutate(draft) ?? draft;
      return this.commit(who, message, next);
    });
  }

  /**
   * Commits the document of revision `rev` (migrated to the current schema)
   * as a new revision; `guard` may refuse it (throw) after validation.
   */
  rollback(rev: number, who: string, guard?: (next: State) => void): Promise<Revision> {
    return this.serial(async () => {
      const old = await this.readRevision(rev);
      if (!old) throw new StoreError(`revision ${rev} does not exist (or was pruned)`, 'not_found');
      const { doc } = migrate(old.state);
      validateState(doc);
      guard?.(doc);
      return this.commit(who, `rollback to revision ${rev}`, doc, true);
    });
  }

  /** Installs (or with undefined removes) the one commit guard. */
  setCommitGuard(guard: CommitGuard | undefined): void {
    this.guard = guard;
  }

  /** Revision numbers kept on disk, oldest first. */
  revisionNumbers(): number[] {
    return [...this.revisions];
  }

  /** Newest first; `before` pages back from a revision number. */
  async history(opts: { limit?: number; before?: number } = {}): Promise<RevisionSummary[]> {
    const limit = opts.limit ?? 50;
    const out: RevisionSummary[] = [];
    for (let i = this.revisions.length - 1; i >= 0 && out.length < limit; i--) {
      const n = this.revisions[i]!;
      if (opts.before !== undefined && n >= opts.before) continue;
      let s = this.summaryCache.get(n);
      if (!s) {
        const r = await this.readRevision(n).catch(() => undefined);
        if (!r) continue;
        s = { revision: r.revision, at: r.at, who: r.who, message: r.message, diff: r.diff };
        this.summaryCache.set(n, s);
      }
      out.push(s);
    }
    return out;
  }

  async getRevision(rev: number): Promise<Revision | undefined> {
    if (rev === this.current.revision) return this.current;
    return this.readRevision(rev);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  private async commit(who: string, message: string, next: unknown, always = false): Promise<Revision> {
    validateState(next);
    const ops = diff(this.current.state, next);
    if (ops.length === 0 && !always) return this.current;
    if (this.guard) await this.guard(this.current.state, next as State, { who, message });
    const rev: Revision = {
      revision: this.current.revision + 1,
      at: new Date().toISOString(),
      who,
      message,
      diff: ops,
      state: deepFreeze(next),
    };
    await this.persist(rev);
    return rev;
  }

  private async persist(rev: Revision): Promise<void> {
    const body = `${JSON.stringify(rev)}\n`;
    await writeFileAtomic(join(this.revDir, fileOf(rev.revision)), body);
    await writeFileAtomic(join(this.dir, 'state.json'), body); // the commit point
    this.current = rev;
    const { state: _s, ...summary } = rev;
    this.revisions.push(rev.revision);
    this.summaryCache.set(rev.revision, summary);
    await this.prune();
    this.emit('commit', rev);
  }

  private async prune(): Promise<void> {
    while (this.revisions.length > this.keep) {
      const old = this.revisions.shift()!;
      this.summaryCache.delete(old);
      await unlink(join(this.revDir, fileOf(old))).catch(() => {});
    }
  }

  private async readRevision(rev: number): Promise<Revision | undefined> {
    if (!Number.isInteger(rev) || rev < 1) return undefined;
    try {
      return JSON.parse(await readFile(join(this.revDir, fileOf(rev)), 'utf8')) as Revision;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  private async load(): Promise<void> {
    await mkdir(this.revDir, { recursive: true, mode: 0o700 });
    for (const d of [this.dir, this.revDir]) {
      for (const f of await readdir(d)) if (f.includes(TMP_MARK)) await unlink(join(d, f)).catch(() => {});
    }
    let cur: Revision | undefined;
    try {
      cur = JSON.parse(await readFile(join(this.dir, 'state.json'), 'utf8')) as Revision;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new StoreError(`${join(this.dir, 'state.json')} cannot be read (${(e as Error).message}): restore it from ${this.revDir}`, 'corrupt');
      }
    }
    const files = (await readdir(this.revDir)).filter((f) => /^\d{8}\.json$/.test(f)).sort();
    if (!cur) {
      if (files.length) {
        throw new StoreError(`${join(this.dir, 'state.json')} is missing but ${files.length} revisions exist: restore it from ${this.revDir}`, 'corrupt');
      }
      const initial = this.opts.initial();
      validateState(initial);
      const first: Revision = { revision: 1, at: new Date().toISOString(), who: 'system', message: 'initial state', diff: [], state: deepFreeze(initial) };
      this.current = first;
      await writeFileAtomic(join(this.revDir, fileOf(1)), `${JSON.stringify(first)}\n`);
      await writeFileAtomic(join(this.dir, 'state.json'), `${JSON.stringify(first)}\n`);
      this.revisions = [1];
      this.opts.log?.info({ revision: 1, dir: this.dir }, 'state: created the initial document');
      return;
    }
    // Revision files past the committed one are from a change that crashed before its commit point.
    for (const f of files) {
      if (Number(f.slice(0, 8)) > cur.revision) {
        await unlink(join(this.revDir, f));
        this.opts.log?.warn({ file: f, committed: cur.revision }, 'state: removed an uncommitted revision left by a crash');
      }
    }
    this.revisions = files.map((f) => Number(f.slice(0, 8))).filter((n) => n <= cur.revision);
    const { doc, from } = migrate(cur.state);
    try {
      validateState(doc);
    } catch (e) {
      if (e instanceof StateValidationError) {
        throw new StoreError(`${join(this.dir, 'state.json')} (revision ${cur.revision}) is not valid: ${e.message}`, 'corrupt');
      }
      throw e;
    }
    this.current = { ...cur, state: deepFreeze(doc as State) };
    if (from !== (doc as State).schemaVersion) {
      this.current = { ...cur, state: deepFreeze(cur.state) };
      await this.commit('system', `migrated from schema version ${from}`, doc, true);
      this.opts.log?.info({ from, to: (doc as State).schemaVersion }, 'state: migrated the document');
    }
  }
}
