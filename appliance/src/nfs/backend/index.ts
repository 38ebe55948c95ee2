/**
 * The backends `cairnd nfs-serve --backend NAME` can use, by name. Each
 * engineer adds their own entry: `posix` (native, ./posix/index.js,
 * openPosixBackend(dir)), `gfapi` (./gfapi/). `memory` is the unit-test
 * fixture.
 */
import type { Backend } from './backend.js';
import { openMemoryBackend } from './memory/index.js';
import { openPosixBackend } from './posix/index.js';

export interface BackendOptions {
  /** The directory to serve (posix), ignored by memory. */
  dir: string;
}

export const BACKENDS: Record<string, (opts: BackendOptions) => Promise<Backend>> = {
  memory: () => openMemoryBackend(),
  posix: (opts) => openPosixBackend(opts.dir),
};
