/**
 * The NFS backends `cairnd nfs-serve --backend NAME` can serve, by name.
 * Each entry opens a Backend from the command-line options it needs:
 * `posix` (native, a local directory), `gfapi` (native, a Gluster volume
 * through libgfapi). `memory` is the unit-test fixture.
 */
import type { Backend } from './backend.js';
import { openGfapiBackend } from './gfapi/index.js';
import { openMemoryBackend } from './memory/index.js';
import { openPosixBackend } from './posix/index.js';

export interface BackendOptions {
  /** posix: the directory to serve (`--dir`). */
  dir: string;
  /** gfapi: Gluster volume name (`--volume`). */
  volume?: string;
  /** gfapi: glusterd serving the volume file (`--volfile-server`, default localhost). */
  volfileServer?: string;
  /** gfapi: glusterd's port (`--volfile-port`, default 24007). */
  volfilePort?: number;
}

export const BACKENDS: Record<string, (opts: BackendOptions) => Promise<Backend>> = {
  memory: () => openMemoryBackend(),
  posix: (opts) => openPosixBackend(opts.dir),
  gfapi: (opts) =>
    openGfapiBackend({
      volume: opts.volume ?? '',
      volfileServer: opts.volfileServer ?? 'localhost',
      port: opts.volfilePort,
    }),
};
