/**
 * Console sessions: a random session id in an HttpOnly cookie, and a CSRF
 * token bound to the session (sent in a readable cookie and echoed by the
 * console in the X-CSRF-Token header on unsafe methods: double submit,
 * checked against the session's own copy). Sessions end on logout, after
 * IDLE_MS without use, or after MAX_MS.
 *
 * Only the SHA-256 of a session id is kept as the key, so the file that
 * persists sessions across cairnd restarts (DATA_DIR/auth/sessions.json,
 * 0600, written atomically) holds nothing a reader could present as a
 * cookie. Creation and removal are written at once; the last-use time only
 * when it moved by more than TOUCH_MS, so a busy console does not cause a
 * write per request (idle expiry may be up to TOUCH_MS late after a
 * restart). A store made with the constructor alone stays in memory
 * (tests, the OpenAPI dump).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../state/atomic.js';

export interface Session {
  user: string;
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
}

const IDLE_MS = 8 * 3600_000;
const MAX_MS = 7 * 24 * 3600_000;
const TOUCH_MS = 60_000;
const key = (id: string) => createHash('sha256').update(id).digest('base64url');

function isSession(v: unknown): v is Session {
  const s = v as Session;
  return typeof s === 'object' && s !== null && typeof s.user === 'string' && typeof s.csrfToken === 'string' && Number.isFinite(s.createdAt) && Number.isFinite(s.lastSeenAt);
}

export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  /** lastSeenAt as last written, per key. */
  private readonly written = new Map<string, number>();
  private queue: Promise<unknown> = Promise.resolve();
  private file: string | null = null;
  private onError: (e: Error) => void = () => {};

  constructor(private readonly now: () => number = Date.now) {}

  /** A store persisted in `dir`/sessions.json; an unreadable file starts empty (everyone logs in again) and is reported through `onError`. */
  static async open(dir: string, opts: { now?: () => number; onError?: (e: Error) => void } = {}): Promise<SessionStore> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const store = new SessionStore(opts.now);
    store.file = join(dir, 'sessions.json');
    if (opts.onError) store.onError = opts.onError;
    try {
      const saved = JSON.parse(await readFile(store.file, 'utf8')) as Record<string, unknown>;
      for (const [k, s] of Object.entries(saved)) {
        if (isSession(s) && !store.expired(s)) {
          store.sessions.set(k, s);
          store.written.set(k, s.lastSeenAt);
        }
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') opts.onError?.(new Error(`${store.file} cannot be read, sessions start empty: ${(e as Error).message}`));
    }
    return store;
  }

  create(user: string): { id: string; session: Session } {
    const id = randomBytes(32).toString('base64url');
    const t = this.now();
    const session = { user, csrfToken: randomBytes(24).toString('base64url'), createdAt: t, lastSeenAt: t };
    this.sessions.set(key(id), session);
    if (this.sessions.size % 256 === 0) this.sweep();
    this.save();
    return { id, session };
  }

  get(id: string): Session | undefined {
    const k = key(id);
    const s = this.sessions.get(k);
    if (!s) return undefined;
    if (this.expired(s)) {
      this.sessions.delete(k);
      this.save();
      return undefined;
    }
    s.lastSeenAt = this.now();
    if (s.lastSeenAt - (this.written.get(k) ?? 0) > TOUCH_MS) this.save();
    return s;
  }

  destroy(id: string): void {
    if (this.sessions.delete(key(id))) this.save();
  }

  /** Ends every session of `user` (password change, user deleted or disabled). */
  destroyUser(user: string): void {
    let changed = false;
    for (const [k, s] of this.sessions) if (s.user === user) changed = this.sessions.delete(k) || changed;
    if (changed) this.save();
  }

  /** Resolves when every change made so far is on disk (tests, shutdown). */
  async flush(): Promise<void> {
    await this.queue;
  }

  private expired(s: Session): boolean {
    const t = this.now();
    return t - s.lastSeenAt > IDLE_MS || t - s.createdAt > MAX_MS;
  }

  private sweep(): void {
    for (const [k, s] of this.sessions) if (this.expired(s)) this.sessions.delete(k);
  }

  /** Writes the whole (small) map; calls are serialized, each writes the newest map. */
  private save(): void {
    const file = this.file;
    if (!file) return;
    const run = this.queue.then(async () => {
      const snapshot = Object.fromEntries(this.sessions);
      await writeFileAtomic(file, `${JSON.stringify(snapshot)}\n`, 0o600);
      this.written.clear();
      for (const [k, s] of Object.entries(snapshot)) this.written.set(k, s.lastSeenAt);
    });
    this.queue = run.catch((e: unknown) => this.onError(new Error(`${file} cannot be written: ${(e as Error).message}`)));
  }
}
