/**
 * Failure counting for login and setup: at most `max` failures per key in a
 * sliding `windowMs`; past that, callers are refused until the oldest
 * failure leaves the window. Keys are e.g. `ip:10.0.0.5` and `user:admin`,
 * so one address cannot try many users and many addresses cannot hammer one
 * user. In memory: a restart forgets (and costs an attacker a restart).
 */
export class FailureLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    readonly max: number,
    readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds until `key` may try again; 0 when it may now. */
  retryAfterMs(key: string): number {
    const list = this.recent(key);
    if (list.length < this.max) return 0;
    return list[0]! + this.windowMs - this.now();
  }

  fail(key: string): void {
    const list = this.recent(key);
    list.push(this.now());
    this.failures.set(key, list);
    if (this.failures.size > 10_000) this.sweep();
  }

  reset(key: string): void {
    this.failures.delete(key);
  }

  private recent(key: string): number[] {
    const since = this.now() - this.windowMs;
    const list = (this.failures.get(key) ?? []).filter((t) => t > since);
    if (list.length) this.failures.set(key, list);
    else this.failures.delete(key);
    return list;
  }

  private sweep(): void {
    for (const k of [...this.failures.keys()]) this.recent(k);
  }
}
