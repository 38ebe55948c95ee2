/**
 * API tokens for scripts and Prometheus: `cairn_<id>_<secret>`, shown once
 * at creation. Only the SHA-256 of the secret is kept (the secret is 32
 * random bytes, so a fast hash is enough — nothing to brute-force), in
 * DATA_DIR/auth/tokens.json (0600), outside the state document so that a
 * state rollback neither revives revoked tokens nor drops new ones.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../state/atomic.js';
import type { Role } from '../state/schema.js';

export interface ApiToken {
  id: string;
  name: string;
  role: Role;
  createdBy: string;
  createdAt: string;
  expiresAt?: string;
  lastUsedAt?: string;
}

interface StoredToken extends ApiToken {
  secretSha256: string;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

export class TokenStore {
  private tokens = new Map<string, StoredToken>();
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly file: string) {}

  static async open(dir: string): Promise<TokenStore> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const store = new TokenStore(join(dir, 'tokens.json'));
    try {
      const list = JSON.parse(await readFile(store.file, 'utf8')) as StoredToken[];
      for (const t of list) store.tokens.set(t.id, t);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${store.file} cannot be read: ${(e as Error).message}`);
    }
    return store;
  }

  list(): ApiToken[] {
    return [...this.tokens.values()].map(({ secretSha256: _s, ...t }) => t);
  }

  async create(t: { name: string; role: Role; createdBy: string; expiresAt?: string }): Promise<{ token: string; info: ApiToken }> {
    const id = randomBytes(6).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const stored: StoredToken = {
      id,
      name: t.name,
      role: t.role,
      createdBy: t.createdBy,
      createdAt: new Date().toISOString(),
      ...(t.expiresAt ? { expiresAt: t.expiresAt } : {}),
      secretSha256: sha256(secret).toString('hex'),
    };
    this.tokens.set(id, stored);
    // A token that could not be saved does not exist (its secret is never shown).
    await this.save().catch((e: unknown) => {
      this.tokens.delete(id);
      throw e;
    });
    const { secretSha256: _s, ...info } = stored;
    return { token: `cairn_${id}_${secret}`, info };
  }

  async revoke(id: string): Promise<boolean> {
    const t = this.tokens.get(id);
    if (!t) return false;
    this.tokens.delete(id);
    // A revocation that could not be saved is undone: the token would come
    // back at the next start, so it must not look revoked until then.
    await this.save().catch((e: unknown) => {
      if (!this.tokens.has(id)) this.tokens.set(id, t);
      throw e;
    });
    return true;
  }

  /** The token's record when `presented` is a live token, else undefined. */
  verify(presented: string, now = Date.now()): ApiToken | undefined {
    const m = /^cairn_([0-9a-f]{12})_([A-Za-z0-9_-]{20,100})$/.exec(presented);
    if (!m) return undefined;
    const t = this.tokens.get(m[1]!);
    if (!t) return undefined;
    if (!timingSafeEqual(sha256(m[2]!), Buffer.from(t.secretSha256, 'hex'))) return undefined;
    if (t.expiresAt && Date.parse(t.expiresAt) <= now) return undefined;
    t.lastUsedAt = new Date(now).toISOString();
    const { secretSha256: _s, ...info } = t;
    return info;
  }

  private save(): Promise<void> {
    const run = this.queue.then(() => writeFileAtomic(this.file, `${JSON.stringify([...this.tokens.values()], null, 1)}\n`));
    this.queue = run.catch(() => {});
    return run;
  }
}
