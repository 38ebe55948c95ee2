/**
 * MOUNTPROC3_NULL (RFC 1813 §5.2.0)
 *
 *   void MOUNTPROC3_NULL(void) = 0;
 */
import type { ProcEntry } from '../rpc/program.js';

export const mountNull: ProcEntry<void, void> = {
  name: 'MOUNTPROC3_NULL',
  flags: 0,
  decode: () => undefined,
  encode: () => undefined,
  handler: async () => undefined,
};
