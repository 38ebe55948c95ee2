/**
 * MOUNTPROC3_UMNTALL (RFC 1813 §5.2.4)
 *
 *   void MOUNTPROC3_UMNTALL(void) = 4;
 */
import { plainAddress } from '../exports.js';
import type { ProcEntry } from '../rpc/program.js';
import { mountKey } from './types.js';

export const umntall: ProcEntry<void, void> = {
  name: 'MOUNTPROC3_UMNTALL',
  flags: 0,
  decode: () => undefined,
  async handler(ctx) {
    ctx.server.mounts.delete(mountKey(plainAddress(ctx.client.address)));
  },
  encode: () => undefined,
};
