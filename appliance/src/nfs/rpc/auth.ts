/**
 * Credentials (RFC 5531 §14 and appendix A): AUTH_NONE and AUTH_SYS.
 * Anything else is refused with AUTH_ERROR before a procedure runs.
 */
import { XdrReader } from '../xdr/reader.js';
import { auth_flavor, auth_stat, type OpaqueAuth } from './message.js';

export interface Identity {
  flavor: 'none' | 'sys';
  uid: number;
  gid: number;
  gids: number[];
  machine: string;
}

/** The anonymous identity of AUTH_NONE callers (the export maps it to anonuid). */
export const NOBODY = 65534;

/**
 * authsys_parms:
 *   struct authsys_parms {
 *     unsigned int stamp;
 *     string machinename<255>;
 *     unsigned int uid;
 *     unsigned int gid;
 *     unsigned int gids<16>;
 *   };
 */
export function parseCred(cred: OpaqueAuth, verf: OpaqueAuth): Identity | auth_stat {
  // Verifiers of AUTH_NONE and AUTH_SYS calls are AUTH_NONE (§14).
  if (verf.flavor !== auth_flavor.AUTH_NONE) return auth_stat.AUTH_BADVERF;
  if (cred.flavor === auth_flavor.AUTH_NONE) {
    return { flavor: 'none', uid: NOBODY, gid: NOBODY, gids: [], machine: '' };
  }
  // An unknown flavor (e.g. RPCSEC_GSS) is a credential we cannot check: AUTH_BADCRED, as knfsd answers.
  if (cred.flavor !== auth_flavor.AUTH_SYS) return auth_stat.AUTH_BADCRED;
  try {
    const r = new XdrReader(cred.body);
    r.u32(); // stamp
    const machine = r.string(255);
    const uid = r.u32();
    const gid = r.u32();
    const gids = r.array(16, () => r.u32());
    r.done();
    return { flavor: 'sys', uid, gid, gids, machine };
  } catch {
    return auth_stat.AUTH_BADCRED;
  }
}
