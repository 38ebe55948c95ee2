/**
 * The NFS backends `cairnd nfs-serve --backend NAME` can serve, by name.
 * Each entry opens a Backend from the command-line options it needs.
 */
import type { Backend } from './backend.js';
import { openGfapiBackend } from './gfapi/index.js';

export interface BackendArgs {
  /** gfapi: Gluster volume name (`--volume`). */
  volume?: string;
  /** gfapi: glusterd serving the volume file (`--volfile-server`, default localhost). */
  volfileServer?: string;
  /** gfapi: glusterd's port (`--volfile-port`, default 24007). */
  volfilePort?: number;
}

export const BACKENDS: Record<string, (args: BackendArgs) => Promise<Backend>> = {
  gfapi: (args) =>
    openGfapiBackend({
      volume: args.volume ?? '',
      volfileServer: args.volfileServer ?? 'localhost',
      port: args.volfilePort,
    }),
};
