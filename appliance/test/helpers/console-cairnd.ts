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
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startCairndVia as startVia, type RunningCairnd } from './cairnd.js';

/** Runs `cairnd run` behind `prefix` (see startCairndVia in cairnd.ts); resolves once it logs its URL. */
export async function startCairndVia(prefix: string[], args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): Promise<RunningCairnd> {
  if (prefix.length === 0) throw new Error('startCairndVia: empty prefix');
  return startVia(prefix, args, env, timeoutMs);
}

/** In the namespaces of process `pid` (a GlusterLab's anchor). */
export const inNamespacesOf = (pid: number) => ['nsenter', '-t', String(pid), '-m', '-n', '--'];

/** In a private mount namespace whose /run is empty: no glusterd socket, so the cluster API cannot reach Gluster. */
export const withoutGlusterd = () => ['unshare', '-m', '--propagation', 'private', '--', 'sh', '-c', 'mount -t tmpfs tmpfs /run && exec "$0" "$@"'];

/** The one-time setup token cairnd wrote into its data directory. */
export async function setupTokenOf(dataDir: string): Promise<string> {
  return (await readFile(join(dataDir, 'setup-token'), 'utf8')).trim();
}
