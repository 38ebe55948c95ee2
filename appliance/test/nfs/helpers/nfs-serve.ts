/**
 * Runs `cairnd nfs-serve` as a child process (stopped by pid in t.after),
 * compiles the libnfs C client once, and runs libnfs tools with a hard
 * timeout — libnfs reconnects forever, so nothing waits unbounded.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestContext } from 'node:test';
import { CAIRND } from '../../helpers/cairnd.js';

const run = promisify(execFile);
const CLIENT_SRC = fileURLToPath(new URL('../../../../test/nfs/fixtures/nfs3-client.c', import.meta.url));

export interface Served {
  port: number;
  /** The served directory. */
  dir: string;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
  url: (path?: string) => string;
  stderr: () => string;
}

/**
 * Starts nfs-serve on a fresh temp directory, or on `opts.dir` (kept) with
 * `opts.secret` as the handle secret file.
 */
export async function nfsServe(t: TestContext, args: string[], opts: { dir?: string; secret?: string } = {}): Promise<Served> {
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'cairn-nfs-serve-')));
  const secret = opts.secret ?? join(tmpdir(), `cairn-nfs-fh-test-${process.pid}-${Date.now()}-${Math.random()}.secret`);
  const proc = spawn(process.execPath, [CAIRND, 'nfs-serve', '--dir', dir, '--port', '0', '--host', '127.0.0.1', '--fh-secret', secret, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = once(proc, 'exit');
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      await exited;
    }
  };
  t.after(async () => {
    await stop();
    if (!opts.dir) await rm(dir, { recursive: true, force: true });
    if (!opts.secret) await rm(secret, { force: true });
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nfs-serve did not listen: ${err}`)), 15_000);
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      try {
        const rec = JSON.parse(line) as { msg?: string; port?: number };
        if (rec.msg === 'nfs listening') {
          clearTimeout(timer);
          resolve(rec.port!);
        }
      } catch {
        /* not JSON */
      }
    });
    void exited.then(([code]) => {
      clearTimeout(timer);
      reject(new Error(`nfs-serve exited with ${code}: ${err}`));
    });
  });
  return {
    port,
    dir,
    stop,
    url: (path = '') => nfsUrl(port, path),
    stderr: () => err,
  };
}

export function nfsUrl(port: number, path = ''): string {
  return `nfs://127.0.0.1/export${path}?version=3&nfsport=${port}&mountport=${port}`;
}

/** Compiles the C client into a temp dir (once per test file). */
export async function buildClient(onCleanup: (fn: () => Promise<void>) => void): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-nfs3-client-'));
  onCleanup(() => rm(dir, { recursive: true, force: true }));
  const bin = join(dir, 'nfs3-client');
  await run('gcc', ['-O1', '-Wall', '-o', bin, CLIENT_SRC, '-lnfs'], { timeout: 60_000 });
  return bin;
}

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a tool with a deadline; never throws for a non-zero exit. */
export async function tool(cmd: string, args: string[], timeoutMs = 30_000): Promise<ToolResult> {
  try {
    const { stdout, stderr } = await run(cmd, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, killSignal: 'SIGKILL' });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const x = e as { code?: number | string; stdout?: string; stderr?: string; killed?: boolean };
    if (x.killed) throw new Error(`${cmd} ${args.join(' ')} timed out after ${timeoutMs} ms: ${x.stdout}${x.stderr}`);
    return { code: typeof x.code === 'number' ? x.code : -1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}
