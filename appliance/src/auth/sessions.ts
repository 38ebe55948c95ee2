/**
 * Console sessions, in memory: a random session id in an HttpOnly cookie,
 * and a CSRF token bound to the session (sent in a readable cookie and
 * echoed by the console in the X-CSRF-Token header on unsafe methods:
 * double submit, checked against the session's own copy). Sessions end on
 * logout, after IDLE_MS without use, after MAX_MS, or when cairnd restarts.
 * Only the SHA-256 of a session id is kept as the key.
 */
import { createHash, randomBytes } from 'node:crypto';

export interface Session {
  user: string;
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
}

const IDLE_MS = 8 * 3600_000;
const MAX_MS = 7 * 24 * 3600_000;
const key = (id: string) => createHash('sha256').update(id).digest('base64url');

export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly now: () => number = Date.now) {}

  create(user: string): { id: string; session: Session } {
    const id = randomBytes(32).toString('base64url');
    const t = this.now();
    const session = { user, csrfToken: randomBytes(24).toString('base64url'), createdAt: t, lastSeenAt: t };
    this.sessions.set(key(id), session);
    if (this.sessions.size % 256 === 0) this.sweep();
    return { id, session };
  }

  get(id: string): Session | undefined {
    const k = key(id);
    const s = this.sessions.get(k);
    if (!s) return undefined;
    const t = this.now();
    if (t - s.lastSeenAt > IDLE_MS || t - s.createdAt > MAX_MS) {
      this.sessions.delete(k);
      return undefined;
    }
    s.lastSeenAt = t;
    return s;
  }

  destroy(id: string): void {
    this.sessions.delete(key(id));
  }

  /** Ends every session of `user` (password change, user deleted or disabled). */
  destroyUser(user: string): void {
    for (const [k, s] of this.sessions) if (s.user === user) this.sessions.delete(k);
  }

  private sweep(): void {
    for (const [k, s] of this.sessions) {
      if (this.now() - s.lastSeenAt > IDLE_MS) this.sessions.delete(k);
    }
  }
}
