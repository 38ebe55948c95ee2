/**
 * Starts the real cairnd (bin/cairnd.js) as a child process for end-to-end
 * tests, finds its URL in its own JSON log, and stops it by pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const CAIRND = fileURLToPath(new URL('../../../bin/cairnd.js', import.meta.url));
export const CAIRNCTL = fileURLToPath(new URL('../../../bin/cairnctl.js', import.meta.url));

export interface RunningCairnd {
  proc: ChildProcess;
  url: string;
  logs: Array<Record<string, unknown>>;
  stderr: () => string;
  /** SIGTERM, then wait for exit; returns the exit code. */
  stop(): Promise<number | null>;
}

export async function startCairnd(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 20_000): Promise<RunningCairnd> {
  return startCairndVia([], args, env, timeoutMs);
}

/**
 * Runs cairnd behind `prefix`, a command that puts it somewhere else first
 * and then execs it (nsenter, unshare without --fork), so that the child's
 * pid is cairnd's and SIGTERM stops it cleanly; [] runs it directly.
 * Resolves once it logs its URL.
 */
export async function startCairndVia(prefix: string[], args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 20_000): Promise<RunningCairnd> {
  // Tests run side by side: NFS and SMB on free ports unless the test says otherwise.
  const ports = [
    ...(args.includes('--nfs-port') ? [] : ['--nfs-port', '0']),
    ...(args.includes('--smb-port') ? [] : ['--smb-port', '0']),
    ...(args.includes('--no-rpcbind') ? [] : ['--no-rpcbind']),
  ];
  const isRun = args[0] === undefined || args[0] === 'run' || args[0].startsWith('-');
  const argv = [...prefix, process.execPath, CAIRND, ...args, ...(isRun ? ports : [])];
  const proc = spawn(argv[0]!, argv.slice(1), {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = once(proc, 'exit');
  // stop() waits for the last log line too: 'exit' can come before stdout is drained.
  const lines = createInterface({ input: proc.stdout! });
  const drained = once(lines, 'close');
  const url = await new Promise<string>((resolve, reject) => {
    // A cairnd that never listens is killed, not left running past the test.
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`cairnd did not listen within ${timeoutMs} ms: ${err}`));
    }, timeoutMs);
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

/** Runs a command to completion; resolves with its exit code and output. */
export async function runToExit(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 20_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(file, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(proc, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}
