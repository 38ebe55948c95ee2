/**
 * First boot: until an admin exists, a one-time setup token guards
 * POST /api/v1/setup. It is written to DATA_DIR/setup-token (0600; the
 * image's console banner shows it) and printed once in the log at start.
 * A token already on disk is reused across restarts so the banner stays
 * right; the file is removed when setup completes.
 */
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import { readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../state/atomic.js';

export class SetupToken {
  private constructor(
    private token: string | undefined,
    readonly file: string,
  ) {}

  /** Loads or makes the token when `needed` (no admin yet); otherwise removes a stale file. */
  static async init(dataDir: string, needed: boolean): Promise<SetupToken> {
    const file = join(dataDir, 'setup-token');
    if (!needed) {
      await unlink(file).catch(() => {});
      return new SetupToken(undefined, file);
    }
    let token: string | undefined;
    try {
      token = (await readFile(file, 'utf8')).trim();
      if (!/^[A-Za-z0-9_-]{16,128}$/.test(token)) token = undefined;
    } catch {
      token = undefined;
    }
    if (!token) {
      // Easy to read off a console and type: 4 groups of 5, no look-alikes.
      const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';
      const bytes = randomBytes(20);
      token = [...bytes].map((b) => alphabet[b % alphabet.length]).join('').replace(/(.{5})(?!$)/g, '$1-');
      await writeFileAtomic(file, `${token}\n`, 0o600);
    }
    return new SetupToken(token, file);
  }

  get pending(): boolean {
    return this.token !== undefined;
  }

  /** The token itself, for the one log line at start. */
  get value(): string | undefined {
    return this.token;
  }

  verify(candidate: string): boolean {
    if (!this.token) return false;
    const h = (s: string) => createHash('sha256').update(s.trim().toLowerCase()).digest();
    return timingSafeEqual(h(candidate), h(this.token));
  }

  async consume(): Promise<void> {
    this.token = undefined;
    await unlink(this.file).catch(() => {});
  }
}
