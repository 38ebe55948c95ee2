/**
 * Calls on one file that may not overlap: many of one kind together
 * (shared), or one alone (exclusive), first come first served, so that a
 * steady stream of shared calls cannot starve an exclusive one.
 *
 * The gfapi backend needs it for size changes. The shard translator of
 * libgfapi 10.3 keeps a file's size in an xattr that a truncate reads,
 * works on and writes back with no lock against another truncate or a
 * write of the same file. Measured here: 32 truncates of one file at once
 * left it 2^64 - 67 MB long (a negative off_t) with ESTALE answers; with
 * writes among them, such sizes too, no truncate could shrink the file
 * again (ENOMEM: shard allocates per shard up to the size), and then
 * libglusterfs crashed the process (SIGSEGV in fd_unref on an epoll
 * thread). Writes among themselves are safe: shard adds their size deltas
 * atomically at the bricks. So size changes are exclusive, writes shared;
 * a local filesystem gives the same order with the inode's lock.
 */
interface Waiter {
  exclusive: boolean;
  go: () => void;
}

interface FileState {
  /** Shared calls running, or -1 while an exclusive one runs. */
  running: number;
  waiting: Waiter[];
}

export class FileGate {
  private readonly files = new Map<string, FileState>();

  /** Runs `fn` when the file `key` admits it; the file is let go however `fn` ends. */
  async run<T>(key: string, exclusive: boolean, fn: () => Promise<T>): Promise<T> {
    let f = this.files.get(key);
    if (!f) {
      f = { running: 0, waiting: [] };
      this.files.set(key, f);
    }
    if (f.waiting.length > 0 || (exclusive ? f.running !== 0 : f.running < 0)) {
      await new Promise<void>((go) => f.waiting.push({ exclusive, go }));
    } else f.running = exclusive ? -1 : f.running + 1;
    try {
      return await fn();
    } finally {
      this.release(key, f, exclusive);
    }
  }

  /** Files with calls running or waiting (for tests). */
  get size(): number {
    return this.files.size;
  }

  private release(key: string, f: FileState, exclusive: boolean): void {
    f.running = exclusive ? 0 : f.running - 1;
    // Admit from the head: one exclusive call once nothing runs, or every shared call up to the next exclusive one.
    while (f.waiting.length > 0) {
      const next = f.waiting[0]!;
      if (next.exclusive) {
        if (f.running !== 0) break;
        f.running = -1;
      } else {
        if (f.running < 0) break;
        f.running++;
      }
      f.waiting.shift();
      next.go();
      if (next.exclusive) break;
    }
    if (f.running === 0 && f.waiting.length === 0) this.files.delete(key);
  }
}
