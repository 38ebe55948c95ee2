/**
 * NFSPROC3_NULL (RFC 1813 §3.3.0)
 *
 *   void NFSPROC3_NULL(void) = 0;
 */
import type { ProcEntry } from '../rpc/program.js';

export const nullProc: ProcEntry<void, void> = {
  name: 'NFSPROC3_NULL',
  flags: 0,
  decode: () => undefined,
  encode: () => undefined,
  handler: async () => undefined,
};
