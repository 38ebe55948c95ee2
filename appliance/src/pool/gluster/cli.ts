/**
 * The only code in Cairn that runs the `gluster` CLI.
 *
 * Every call is `gluster --mode=script --xml ARGS…` through execFile with an
 * argument array (never a shell), bounded by a timeout after which the CLI
 * is killed. The XML is checked here (`opRet`), so callers get either the
 * parsed `<cliOutput>` or a GlusterError:
 *
 *  - glusterd not running: the CLI prints "Connection failed. Please check
 *    if gluster daemon is operational." (not XML) and exits 1 at once →
 *    GLUSTERD_UNREACHABLE.
 *  - glusterd alive but stuck: the CLI would wait up to its own 120 s →
 *    our timeout kills it → GLUSTER_TIMEOUT.
 *  - `--xml` exits 0 even when the operation failed: opRet/opErrstr are
 *    the truth → GLUSTER_FAILED with glusterd's message.
 */
import { execFile } from 'node:child_process';
import { GlusterError } from './errors.js';
import { parseCliOutput, type CliOutput } from './xml.js';

export interface GlusterCliOptions {
  /**
   * The argv that runs the CLI, default `['gluster']`. Tests put a prefix
   * in front (e.g. `nsenter -t PID -m -n gluster`) to reach a glusterd that
   * lives in its own network and mount namespace.
   */
  command?: readonly string[];
  /** Default deadline per call; `heal info` with a brick down takes ~10 s. */
  timeoutMs?: number;
  /** Where the CLI logs (its default is /var/log/glusterfs/cli.log). */
  logFile?: string;
}

export interface RunOptions {
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 90_000;
/** glusterd busy with another transaction on the volume (nothing was done). */
const BUSY_RE = /Another transaction is in progress|Locking failed on|try again after some time/i;
const LOCK_RETRIES = 8;

export class GlusterCli {
  private readonly command: readonly string[];
  private readonly timeoutMs: number;
  private readonly logFile: string | undefined;

  constructor(opts: GlusterCliOptions = {}) {
    this.command = opts.command ?? ['gluster'];
    if (this.command.length === 0) throw new GlusterError('INVALID_ARGUMENT', 'empty gluster command');
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.logFile = opts.logFile;
  }

  /**
   * Runs one CLI command and returns its checked `<cliOutput>`. glusterd
   * runs one transaction per volume at a time and refuses a second one
   * ("Another transaction is in progress … Please try again after some
   * time", or "Locking failed on …") without doing anything: such calls
   * are retried for a few seconds (the driver's watch, a pass and an admin
   * task may ask at once).
   */
  async run(args: readonly string[], opts: RunOptions = {}): Promise<CliOutput> {
    for (let attempt = 1; ; attempt++) {
      const stdout = await this.exec(args, opts.timeoutMs ?? this.timeoutMs);
      try {
        return parseCliOutput(stdout, args.join(' '));
      } catch (err) {
        if (attempt >= LOCK_RETRIES || !(err instanceof GlusterError) || err.code !== 'GLUSTER_FAILED' || !BUSY_RE.test(err.message)) throw err;
        await new Promise((r) => setTimeout(r, 200 * attempt + Math.floor(Math.random() * 200)));
      }
    }
  }

  /**
   * For the few commands that ignore `--xml` and print a sentence (e.g.
   * `volume heal NAME [full]` on success): success is exit status 0, a
   * failure is GLUSTER_FAILED with the CLI's text. Returns the text.
   */
  async runPlain(args: readonly string[], opts: RunOptions = {}): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      try {
        const stdout = await this.exec(args, opts.timeoutMs ?? this.timeoutMs);
        if (stdout.includes('<cliOutput>')) parseCliOutput(stdout, args.join(' '));
        return stdout.trim();
      } catch (err) {
        if (attempt >= LOCK_RETRIES || !(err instanceof GlusterError) || err.code !== 'GLUSTER_FAILED' || !BUSY_RE.test(err.message)) throw err;
        await new Promise((r) => setTimeout(r, 200 * attempt + Math.floor(Math.random() * 200)));
      }
    }
  }

  private exec(args: readonly string[], timeoutMs: number): Promise<string> {
    const [file, ...prefix] = this.command;
    const argv = [...prefix, '--mode=script', '--xml'];
    if (this.logFile) argv.push(`--log-file=${this.logFile}`);
    argv.push(...args);
    const what = `gluster ${args.join(' ')}`;
    return new Promise((resolve, reject) => {
      execFile(
        file!,
        argv,
        { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
        (err, stdout, stderr) => {
          if (err) {
            const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null };
            if (e.code === 'ENOENT') {
              reject(new GlusterError('GLUSTER_NOT_INSTALLED', `${file} not found: is glusterfs-server installed?`));
            } else if (e.killed || e.signal === 'SIGKILL') {
              reject(new GlusterError('GLUSTER_TIMEOUT', `${what}: no answer from glusterd within ${timeoutMs} ms`));
            } else if (/Connection failed|Cannot connect|gluster daemon is operational/i.test(stdout + stderr)) {
              reject(new GlusterError('GLUSTERD_UNREACHABLE', `${what}: glusterd is not running or not reachable`));
            } else if (stdout.includes('<cliOutput>')) {
              // Some failures exit non-zero and still print XML: let opRet speak.
              resolve(stdout);
            } else {
              const text = (stderr || stdout).trim().split('\n').slice(-3).join(' ');
              reject(new GlusterError('GLUSTER_FAILED', `${what}: ${text || `exit ${String(e.code)}`}`));
            }
            return;
          }
          resolve(stdout);
        },
      );
    });
  }
}
