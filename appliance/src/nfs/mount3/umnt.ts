/**
 * MOUNTPROC3_UMNT (RFC 1813 §5.2.3)
 *
 *   void MOUNTPROC3_UMNT(dirpath) = 3;
 *
 * Only the mount list changes: handles stay valid (NFS has no mount state).
 */
import { normalizeExportPath, plainAddress } from '../exports.js';
import type { ProcEntry } from '../rpc/program.js';
import { mountKey, MNTPATHLEN } from './types.js';

export const umnt: ProcEntry<string, void> = {
  name: 'MOUNTPROC3_UMNT',
  flags: 0,
  decode: (r) => r.string(MNTPATHLEN),
  async handler(ctx, path) {
    const key = mountKey(plainAddress(ctx.client.address));
    const set = ctx.server.mounts.get(key);
    if (!set) return;
    try {
      set.delete(normalizeExportPath(path));
    } catch {
      return;
    }
    if (set.size === 0) ctx.server.mounts.delete(key);
  },
  encode: () => undefined,
};
