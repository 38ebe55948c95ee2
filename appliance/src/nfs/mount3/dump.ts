/**
 * MOUNTPROC3_DUMP (RFC 1813 §5.2.2)
 *
 *   typedef struct mountbody *mountlist;
 *   struct mountbody { name ml_hostname; dirpath ml_directory; mountlist ml_next; };
 *   mountlist MOUNTPROC3_DUMP(void) = 2;
 */
import type { ProcEntry } from '../rpc/program.js';

export const dump: ProcEntry<void, Array<[string, string]>> = {
  name: 'MOUNTPROC3_DUMP',
  flags: 0,
  decode: () => undefined,
  async handler(ctx) {
    const out: Array<[string, string]> = [];
    for (const [host, paths] of ctx.server.mounts) for (const p of paths) out.push([host, p]);
    return out;
  },
  encode(w, list) {
    for (const [host, path] of list) w.bool(true).string(host).string(path);
    w.bool(false);
  },
};
