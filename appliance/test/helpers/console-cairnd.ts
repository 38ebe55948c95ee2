/**
 * The real cairnd (bin/cairnd.js) for the console's end-to-end tests, run
 * through a command that puts it somewhere else first: inside a
 * GlusterLab's mount and network namespaces (`nsenter -t PID -m -n`), so
 * that its gluster CLI reaches the lab's glusterd and the bricks it
 * mounts are seen by it; or in a private mount namespace with an empty
 * /run, so that no glusterd answers at all. The prefix command must exec
 * cairnd (nsenter and unshare without --fork do), so that the child's pid
 * is cairnd's and SIGTERM stops it cleanly.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CAIRND, type RunningCairnd } from './cairnd.js';

/** Runs `cairnd run` behind `prefix`; resolves once it logs its URL. */
export async function startCairndVia(prefix: string[], args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): Promise<RunningCairnd> {
  const [cmd, ...pre] = prefix;
  if (!cmd) throw new Error('startCairndVia: empty prefix');
  const proc = spawn(cmd, [...pre, process.execPath, CAIRND, ...args, '--nfs-port', '0', '--smb-port', '0', '--no-rpcbind'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = once(proc, 'exit');
  const lines = createInterface({ input: proc.stdout! });
  const drained = once(lines, 'close');
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`cairnd did not listen within ${timeoutMs} ms: ${err}`)), timeoutMs);
    lines.on('line', (line) => {
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      logs.push(rec);
      if (rec.msg === 'cairnd listening') {
        clearTimeout(timer);
        resolve(String(rec.url));
      }
    });
    void exited.then(([code]) => {
      clearTimeout(timer);
      reject(new Error(`cairnd exited with ${code} before listening: ${err}`));
    });
  });
  return {
    proc,
    url,
    logs,
    stderr: () => err,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
      const [code] = (await exited) as [number | null];
      clearTimeout(timer);
      await drained;
      return code;
    },
  };
}

/** In the namespaces of process `pid` (a GlusterLab's anchor). */
export const inNamespacesOf = (pid: number) => ['nsenter', '-t', String(pid), '-m', '-n', '--'];

/** In a private mount namespace whose /run is empty: no glusterd socket, so the cluster API cannot reach Gluster. */
export const withoutGlusterd = () => ['unshare', '-m', '--propagation', 'private', '--', 'sh', '-c', 'mount -t tmpfs tmpfs /run && exec "$0" "$@"'];

/** The one-time setup token cairnd wrote into its data directory. */
export async function setupTokenOf(dataDir: string): Promise<string> {
  return (await readFile(join(dataDir, 'setup-token'), 'utf8')).trim();
}
