/**
 * Join tokens: shown on the appliance that is to join (B), typed into the
 * console of an appliance already in the cluster (A). A proves to B's
 * cairnd that an admin of B agreed; only then does A peer-probe B
 * (glusterd itself accepts a probe from anyone while it is alone).
 *
 * A token is 20 random bytes in base32 groups ("7KQ2-…"), valid for
 * `ttlMs` (default 15 min) and for one use. Only its SHA-256 is kept, and
 * it is compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ClusterError } from './errors.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export interface IssuedToken {
  token: string;
  expiresAt: number;
}

/** RFC 4648 base32 without padding, in groups of four joined by '-' (easy to read aloud and type). */
export function base32Groups(b: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of b) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out.match(/.{1,4}/g)!.join('-');
}

const digest = (token: string) => createHash('sha256').update(token.trim().toUpperCase().replace(/\s+/g, '')).digest();

export class JoinTokens {
  private current: { hash: Buffer; expiresAt: number } | undefined;

  constructor(
    private readonly ttlMs = 15 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Issues a new token; any earlier one stops working. */
  issue(): IssuedToken {
    const token = base32Groups(randomBytes(20));
    const expiresAt = this.now() + this.ttlMs;
    this.current = { hash: digest(token), expiresAt };
    return { token, expiresAt };
  }

  /** Checks and consumes `token`; throws JOIN_TOKEN_INVALID or JOIN_TOKEN_EXPIRED. */
  consume(token: string): void {
    const cur = this.current;
    if (!cur || typeof token !== 'string' || !timingSafeEqual(cur.hash, digest(token))) {
      throw new ClusterError('JOIN_TOKEN_INVALID', 'the join token does not match the one shown on this appliance');
    }
    if (this.now() > cur.expiresAt) {
      this.current = undefined;
      throw new ClusterError('JOIN_TOKEN_EXPIRED', 'the join token has expired: show a new one on this appliance');
    }
    this.current = undefined;
  }
}
