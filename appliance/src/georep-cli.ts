/**
 * cairn-georep: failover and failback of geo-replicated volumes, run as
 * root on an appliance of the site named in each step (the runbook is
 * docs/geo-replication.md). Talks to the local glusterd only, through
 * pool/gluster/georep.ts.
 *
 *   appliance/bin/cairn-georep.js COMMAND ARGS   (/opt/cairn/appliance/bin/ on the image)
 *
 *   status [VOLUME]                            sessions with state, lag, last synced
 *   drain VOLUME REMOTE_HOST REMOTE_VOLUME     planned failover, primary site: wait
 *                                              until caught up, then stop the session
 *   stop VOLUME REMOTE_HOST REMOTE_VOLUME      stop a session (force), e.g. on a
 *                                              returning old primary
 *   promote VOLUME                             secondary site: the copy becomes the
 *                                              primary (changelog on)
 *   reverse VOLUME OLD_HOST OLD_VOLUME [--ssh-port N]
 *                                              promoted site: session back to the
 *                                              old primary, started
 *   finish-failback VOLUME OLD_HOST OLD_VOLUME promoted site, clients off: wait until
 *                                              caught up, stop and delete the reverse
 *   resume VOLUME REMOTE_HOST REMOTE_VOLUME    old primary site, after finish-failback:
 *                                              remove what was deleted on the copy during
 *                                              the failover (kept aside in --keep-dir),
 *                                              then restart the original session
 *
 * Options: --timeout SECONDS for the waits (default 600); for resume
 * --keep-dir DIR (default /var/lib/cairn/georep-failback/VOLUME-TIME)
 * and --skip-deletions (no deletion pass: this site cannot mount the
 * copy, or it took no writes). Exit codes: 0 done, 1 Gluster refused, a
 * wait timed out or the deletion pass failed, 64 usage.
 */
import { parseArgs } from 'node:util';
import { GlusterCli } from './pool/gluster/cli.js';
import { GlusterError } from './pool/gluster/errors.js';
import { GeoRepFailover, GeoRepReplication, GlusterGeoRep, type GeoRepSummary, type GeoRepTarget } from './pool/gluster/georep.js';
import { GlusterVolumes } from './pool/gluster/volumes.js';

const USAGE = `usage: cairn-georep [--timeout SECONDS] [--ssh-port N] [--keep-dir DIR] [--skip-deletions] COMMAND ARGS
  status [VOLUME]
  drain VOLUME REMOTE_HOST REMOTE_VOLUME
  stop VOLUME REMOTE_HOST REMOTE_VOLUME
  promote VOLUME
  reverse VOLUME OLD_HOST OLD_VOLUME
  finish-failback VOLUME OLD_HOST OLD_VOLUME
  resume VOLUME REMOTE_HOST REMOTE_VOLUME
(docs/geo-replication.md has the runbook)`;

const line = (s: GeoRepSummary) =>
  `${s.state}${s.upToDate ? ', in sync' : ''}; last synced ${s.lastSynced ?? 'never'}${s.lagSeconds !== null ? ` (${s.lagSeconds} s ago)` : ''}; pending ${s.pending}; failures ${s.failures}`;

export async function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { timeout: { type: 'string' }, 'ssh-port': { type: 'string' }, 'keep-dir': { type: 'string' }, 'skip-deletions': { type: 'boolean' }, help: { type: 'boolean' } } });
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    return 64;
  }
  const [cmd, ...rest] = parsed.positionals;
  const timeoutMs = parsed.values.timeout === undefined ? 600_000 : Number(parsed.values.timeout) * 1000;
  const sshPort = parsed.values['ssh-port'] === undefined ? undefined : Number(parsed.values['ssh-port']);
  const keepDir = parsed.values['keep-dir'];
  if (parsed.values.help || !cmd || !(timeoutMs > 0) || (sshPort !== undefined && !Number.isInteger(sshPort)) || (keepDir !== undefined && !keepDir.startsWith('/'))) {
    process.stderr.write(`${USAGE}\n`);
    return parsed.values.help ? 0 : 64;
  }
  const cli = new GlusterCli({ timeoutMs: 120_000 });
  const geo = new GlusterGeoRep(cli);
  const f = new GeoRepFailover(geo, new GlusterVolumes(cli));
  const target = (): GeoRepTarget => {
    if (rest.length !== 3) throw new UsageError();
    return { primary: rest[0]!, secondaryHost: rest[1]!, secondaryVolume: rest[2]! };
  };
  try {
    switch (cmd) {
      case 'status': {
        const sessions = await new GeoRepReplication(geo).list();
        for (const s of sessions.filter((x) => !rest[0] || x.volume === rest[0])) {
          out(`${s.volume} → ${s.remoteHost}::${s.remoteVolume}: ${line({ ...s, checkpoint: s.checkpoint })}\n`);
          for (const w of s.workers) out(`  ${w.node} ${w.brick}: ${w.status}${w.crawlStatus ? ` (${w.crawlStatus})` : ''}\n`);
        }
        return 0;
      }
      case 'drain':
        out(`caught up: ${line(await f.drain(target(), { timeoutMs }))}\nsession stopped; now run "promote" on the secondary site\n`);
        return 0;
      case 'stop':
        await f.stop(target());
        out('session stopped\n');
        return 0;
      case 'promote':
        if (rest.length !== 1) throw new UsageError();
        await f.promote(rest[0]!);
        out(`${rest[0]} is now a primary: serve it (shares on its pool); for failback run "reverse" here\n`);
        return 0;
      case 'reverse':
        await f.reverse(target(), sshPort === undefined ? {} : { sshPort });
        out('reverse session started; when clients are off this site, run "finish-failback" here\n');
        return 0;
      case 'finish-failback':
        out(`caught up: ${line(await f.finishFailback(target(), { timeoutMs }))}\nreverse session deleted; on the old primary run "resume", then serve from there\n`);
        return 0;
      case 'resume': {
        const t = target();
        const keep = parsed.values['skip-deletions'] ? undefined : (keepDir ?? `/var/lib/cairn/georep-failback/${t.primary}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
        const pass = await f.resume(t, { keepDir: keep });
        if (pass) {
          out(`deletion pass: ${pass.deleted.length} path(s) deleted on ${t.secondaryHost}::${t.secondaryVolume} during the failover removed from ${t.primary}${pass.deleted.length ? `, kept in ${pass.keptIn}` : ''}\n`);
          for (const d of pass.deleted) out(`  deleted ${d}\n`);
        } else out('deletion pass skipped (--skip-deletions)\n');
        out('original session started\n');
        return 0;
      }
      default:
        throw new UsageError();
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`${USAGE}\n`);
      return 64;
    }
    if (e instanceof GlusterError) {
      process.stderr.write(`cairn-georep: ${e.code}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

class UsageError extends Error {}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (e: unknown) => {
    process.stderr.write(`cairn-georep: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(70);
  });
}
