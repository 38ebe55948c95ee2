import { execFile } from 'node:child_process';
import { readFile, readdir, readlink } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * True while any thread of the process is running. A killed multi-threaded
 * process (a brick, glusterd) shows its leader as a zombie while the other
 * threads still exit and still hold its files, so the leader's state alone
 * says nothing about whether its mounts are free.
 */
async function alive(pid: number): Promise<boolean> {
  const tids = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  const states = await Promise.all(tids.map((t) => readFile(`/proc/${pid}/task/${t}/stat`, 'utf8').then((s) => !/\) [ZX] /.test(s), () => false)));
  return states.some(Boolean);
}

/** SIGKILL the processes and wait (10 s at most) until none of their threads runs. */
export async function killAndWait(pids: number[]): Promise<void> {
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone already */
    }
  }
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (!(await Promise.all(pids.map(alive))).some(Boolean)) return;
    await sleep(50);
  }
}

/** Processes with a file, cwd or root under the directory: "pid comm" lines. */
export async function holders(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const pid of (await readdir('/proc')).filter((x) => /^\d+$/.test(x))) {
    const links: string[] = [];
    for (const l of ['cwd', 'root']) links.push(await readlink(`/proc/${pid}/${l}`).catch(() => ''));
    for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [] as string[])) links.push(await readlink(`/proc/${pid}/fd/${fd}`).catch(() => ''));
    if (links.some((l) => l === dir || l.startsWith(`${dir}/`))) {
      const comm = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '?')).trim();
      out.push(`${pid} ${comm}`);
    }
  }
  return out;
}

/**
 * Unmount, retrying for a few seconds while the mount is busy (a process that
 * was just killed lets go of its files a moment later). The error names the
 * processes still holding it.
 */
export async function umountWhenFree(dir: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await run('umount', [dir]);
      return;
    } catch (e) {
      const err = e as Error & { stderr?: string };
      if (!/busy/.test(err.stderr ?? '') || Date.now() > deadline) {
        const who = await holders(dir);
        throw new Error(`umount ${dir}: ${(err.stderr ?? err.message).trim()}; held by: ${who.join(', ') || 'no process (a mount namespace?)'}`);
      }
      await sleep(200);
    }
  }
}
