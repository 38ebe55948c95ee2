/**
 * MOUNTPROC3_EXPORT (RFC 1813 §5.2.5)
 *
 *   typedef struct groupnode *groups;
 *   struct groupnode { name gr_name; groups gr_next; };
 *   typedef struct exportnode *exports;
 *   struct exportnode { dirpath ex_dir; groups ex_groups; exports ex_next; };
 *   exports MOUNTPROC3_EXPORT(void) = 5;
 */
import type { ProcEntry } from '../rpc/program.js';

export const exportProc: ProcEntry<void, Array<{ path: string; groups: string[] }>> = {
  name: 'MOUNTPROC3_EXPORT',
  flags: 0,
  decode: () => undefined,
  async handler(ctx) {
    return ctx.server.exports.all.map((e) => ({ path: e.path, groups: e.groups }));
  },
  encode(w, list) {
    for (const e of list) {
      w.bool(true).string(e.path);
      for (const g of e.groups) w.bool(true).string(g);
      w.bool(false);
    }
    w.bool(false);
  },
};
