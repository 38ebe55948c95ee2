/**
 * MOUNTPROC3_MNT (RFC 1813 §5.2.1)
 *
 *   typedef string dirpath<MNTPATHLEN>;
 *   struct mountres3_ok { fhandle3 fhandle; int auth_flavors<>; };
 *   union mountres3 switch (mountstat3 fhs_status) {
 *     case MNT3_OK: mountres3_ok mountinfo;
 *     default: void;
 *   };
 *   mountres3 MOUNTPROC3_MNT(dirpath) = 1;
 *
 * A client no rule of the export covers gets MNT3ERR_ACCES; an unknown
 * path MNT3ERR_NOENT. The handle is the export root's.
 */
import { plainAddress, normalizeExportPath } from '../exports.js';
import type { ProcEntry } from '../rpc/program.js';
import { mountKey, mountstat3, MNTPATHLEN } from './types.js';

interface Res {
  status: mountstat3;
  fh?: Buffer;
}

/** AUTH_SYS, then AUTH_NONE. */
const FLAVORS = [1, 0];

export const mnt: ProcEntry<string, Res> = {
  name: 'MOUNTPROC3_MNT',
  flags: 0,
  decode: (r) => r.string(MNTPATHLEN),
  async handler(ctx, path) {
    let exp;
    try {
      exp = ctx.server.exports.byPath.get(normalizeExportPath(path));
    } catch {
      return { status: mountstat3.MNT3ERR_NOENT };
    }
    if (!exp) return { status: mountstat3.MNT3ERR_NOENT };
    if (!exp.ruleFor(ctx.client)) {
      ctx.server.log.info({ client: ctx.client.address, export: exp.path }, 'MOUNT refused: client not in the export list');
      return { status: mountstat3.MNT3ERR_ACCES };
    }
    try {
      const fh = ctx.server.codec.encode(exp.id, await exp.rootHandle());
      const key = mountKey(plainAddress(ctx.client.address));
      let set = ctx.server.mounts.get(key);
      if (!set) ctx.server.mounts.set(key, (set = new Set()));
      set.add(exp.path);
      ctx.server.log.info({ client: ctx.client.address, export: exp.path }, 'MOUNT');
      return { status: mountstat3.MNT3_OK, fh };
    } catch (e) {
      ctx.server.log.error({ err: e, export: exp.path }, 'MOUNT could not get the export root');
      return { status: mountstat3.MNT3ERR_IO };
    }
  },
  encode(w, res) {
    w.u32(res.status);
    if (res.status !== mountstat3.MNT3_OK) return;
    w.opaque(res.fh!);
    w.u32(FLAVORS.length);
    for (const f of FLAVORS) w.u32(f);
  },
};
