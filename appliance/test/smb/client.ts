/**
 * The real smbclient as the test client. Its exit code cannot be trusted for
 * the commands inside `-c`, so results are read from its output: the first
 * NT_STATUS_ code it prints, or none. It runs with its own client smb.conf
 * (`-s`) so /etc/samba is never read, and gets passwords through the PASSWD
 * environment variable rather than the command line.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';

export interface SmbClientResult {
  out: string;
  /** First NT_STATUS_* in the output, or null if there was none. */
  status: string | null;
}

export interface Client {
  conf: string;
  port: number;
  run(share: string, commands: string, opts?: { user?: string; password?: string; cwd?: string; args?: string[]; timeoutMs?: number }): Promise<SmbClientResult>;
}

/** `host`: the server's address (default loopback; a lab node or CTDB public address). */
export async function makeClient(dir: string, port: number, host = '127.0.0.1'): Promise<Client> {
  const state = join(dir, 'client-state');
  await mkdir(state, { recursive: true });
  const conf = join(dir, 'client.conf');
  await writeFile(
    conf,
    ['[global]', 'client min protocol = SMB2_02', `lock directory = ${state}`, `state directory = ${state}`, `cache directory = ${state}`, `private dir = ${state}`, ''].join('\n'),
  );
  return {
    conf,
    port,
    run(share, commands, opts = {}) {
      const args = ['-s', conf, '-p', String(port), `//${host}/${share}`];
      args.push(...(opts.user === undefined ? ['-N'] : ['-U', opts.user]));
      args.push(...(opts.args ?? []), '-c', commands);
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', ...(opts.password !== undefined ? { PASSWD: opts.password } : {}) };
      return new Promise((resolve) => {
        execFile('smbclient', args, { env, cwd: opts.cwd, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
          const out = `${stdout}${stderr}${err && err.killed ? '\n[smbclient timed out]' : ''}`;
          const m = /NT_STATUS_[A-Z0-9_]+/.exec(out);
          resolve({ out, status: m ? m[0] : null });
        });
      });
    },
  };
}

/** A TCP port nobody listens on right now (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Running (a zombie left to an init that does not reap counts as gone). */
export function pidAlive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}
