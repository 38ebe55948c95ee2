/**
 * The status monitor's (NSM, program 100024 v1) one procedure a lock
 * server must answer for others: SM_NOTIFY, sent by a client's statd when
 * that client has rebooted — its processes, and so its locks, are gone.
 *
 *   struct stat_chge { string mon_name<SM_MAXSTRLEN>; int state; };
 *   void SM_NOTIFY(stat_chge) = 6;
 *
 * mon_name is the client's host name, as it sent it in caller_name.
 * SM_NULL answers too; the local-only procedures (SM_STAT, SM_MON,
 * SM_UNMON, SM_UNMON_ALL, SM_SIMU_CRASH) are PROC_UNAVAIL: this server
 * keeps no monitor list of its own.
 */
import type { ProcEntry, Program } from '../rpc/program.js';
import { dropHost } from './procedures.js';

export const NSM_PROGRAM = 100024;
export const NSM_V1 = 1;
const SM_MAXSTRLEN = 1024;

const smNull: ProcEntry<void, void> = {
  name: 'SM_NULL',
  flags: 0,
  decode: () => undefined,
  handler: async () => undefined,
  encode: () => undefined,
};

const smNotify: ProcEntry<{ monName: string; state: number }, void> = {
  name: 'SM_NOTIFY',
  flags: 0,
  decode: (r) => ({ monName: r.string(SM_MAXSTRLEN), state: r.i32() }),
  async handler(ctx, a) {
    const n = await dropHost(ctx.server, a.monName);
    ctx.server.log.info({ client: ctx.client.address, host: a.monName, state: a.state, dropped: n }, 'NSM SM_NOTIFY: a client rebooted; its locks dropped');
  },
  encode: () => undefined,
};

const NSM_PROCEDURES: ProcEntry[] = [];
NSM_PROCEDURES[0] = smNull;
NSM_PROCEDURES[6] = smNotify;

export const nsmProgram: Program = {
  name: 'status',
  prog: NSM_PROGRAM,
  versions: new Map([[NSM_V1, NSM_PROCEDURES]]),
};
