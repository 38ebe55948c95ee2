/**
 * The only code that runs Samba: smbd (started and supervised here in the
 * dev default), testparm, smbcontrol, pdbedit and smbstatus — always through
 * execFile/spawn with argument arrays and a minimal environment.
 *
 * `SambaService` is the driver the reconciler calls:
 *
 *   const smb = new SambaService({ dataDir: join(data, 'samba'), logger });
 *   await smb.start();                    // smbd runs once a config exists
 *   const { problems } = await smb.apply(desired);   // any number of times
 *   await smb.stop();
 *
 * Contract of `apply` (serialised: concurrent calls run one after another):
 * - Never throws for bad input or a Samba refusal: it returns problems with
 *   dotted paths into SmbDesired. Invalid shares and users are left out, the
 *   rest is applied.
 * - A configuration testparm rejects is never installed: the old smb.conf
 *   stays in force and the problem carries testparm's words.
 * - Files (smb.conf, the account files) are replaced atomically and only when
 *   their content changes; smbd is told to reload only then. A change of
 *   port or interfaces restarts smbd (a reload does not rebind).
 * - passdb ends up holding exactly the valid desired users: added, hash or
 *   enabled flag updated, the rest deleted; users that are deleted or
 *   disabled also lose their open sessions. NT hashes go to pdbedit through
 *   a 0600 file that is removed at once — never on a command line, never in
 *   a log.
 *
 * Processes: smbd runs in the foreground in a session of its own, so the
 * per-client children it forks share its process group. smbd starts
 * samba-dcerpcd on demand in yet another process group; stopping kills both
 * groups (found through the pid files in our pid directory).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { generate, type SmbConfModel } from './generate.js';
import { sambaPaths, type SambaPaths } from './paths.js';
import { renderSmbConf, writeFileIfChanged } from './render.js';
import type { SmbDesired, SmbProblem, SmbShare } from './types.js';
import { accountFiles, parsePassdbList, planPassdb, smbpasswdLine } from './users.js';

export interface SambaServiceOptions {
  /** Directory for all of Samba's files (created if missing). */
  dataDir: string;
  logger?: Logger;
  /**
   * true (default): this process starts and supervises smbd. false: smbd is
   * someone else's (a systemd unit built from `smbdCommand()`); apply only
   * reloads it.
   */
  supervise?: boolean;
  /** Where Samba's programs are; default /usr/sbin and /usr/bin. */
  sbinDir?: string;
  binDir?: string;
  /** Timeout for each Samba tool run, ms. */
  toolTimeoutMs?: number;
  /**
   * argv put before every Samba program, e.g. `nsenter -t PID -m -n -u --`
   * to run smbd in a test node's namespaces (the environment is passed on).
   */
  commandPrefix?: string[];
  /**
   * Address the start-up check connects to; default the first IPv4
   * `interfaces` entry, else 127.0.0.1. Needed when smbd runs in another
   * network namespace than this process.
   */
  probeHost?: string;
}

export interface ApplyResult {
  problems: SmbProblem[];
  configChanged: boolean;
  accountsChanged: boolean;
  usersChanged: boolean;
}

export interface SambaStatus {
  running: boolean;
  pid: number | null;
  restarts: number;
  lastExit: { code: number | null; signal: string | null; at: string; stderr: string } | null;
}

export class SambaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SambaError';
  }
}

interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

const noopLogger = {
  info() {},
  warn() {},
  error() {},
  debug() {},
} as unknown as Logger;

/** Hex runs as long as an NT hash are masked in anything we log or report. */
function scrub(s: string): string {
  return s.replace(/[0-9a-fA-F]{32}/g, '[hash]').trim();
}

/** Finds Debian's libnss_wrapper.so (its multiarch directory varies). */
export async function findNssWrapper(): Promise<string> {
  const candidates = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib'];
  try {
    for (const d of await readdir('/usr/lib')) if (d.endsWith('-linux-gnu')) candidates.push(join('/usr/lib', d));
  } catch {
    /* no /usr/lib: fall through to the error below */
  }
  for (const dir of candidates) {
    const p = join(dir, 'libnss_wrapper.so');
    if (existsSync(p)) return p;
  }
  throw new SambaError('libnss_wrapper.so not found: install the Debian package libnss-wrapper');
}

/**
 * smb.conf parameters whose change needs a restart rather than a reload:
 * the listening sockets, and clustering (smbd attaches its databases to
 * ctdbd or to local files only at start).
 */
function bindKey(model: SmbConfModel): string {
  return JSON.stringify([model.global['smb ports'], model.global.interfaces ?? '', model.global.clustering ?? 'no', model.global['ctdbd socket'] ?? '']);
}

export class SambaService {
  readonly paths: SambaPaths;
  private readonly log: Logger;
  private readonly supervise: boolean;
  private readonly sbin: string;
  private readonly bin: string;
  private readonly toolTimeoutMs: number;
  private readonly prefix: string[];
  private readonly probeHost: string | undefined;
  private nssWrapper: string | null = null;

  private wanted = false;
  private child: ChildProcess | null = null;
  private childExited: Promise<void> | null = null;
  private runningBindKey: string | null = null;
  private restarts = 0;
  private backoffMs = 1000;
  private restartTimer: NodeJS.Timeout | null = null;
  private lastExit: SambaStatus['lastExit'] = null;
  private stderrTail = '';
  private installedModel: SmbConfModel | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(opts: SambaServiceOptions) {
    this.paths = sambaPaths(opts.dataDir);
    this.log = opts.logger ?? noopLogger;
    this.supervise = opts.supervise ?? true;
    this.sbin = opts.sbinDir ?? '/usr/sbin';
    this.bin = opts.binDir ?? '/usr/bin';
    this.toolTimeoutMs = opts.toolTimeoutMs ?? 30_000;
    this.prefix = opts.commandPrefix ?? [];
    this.probeHost = opts.probeHost;
  }

  // ------------------------------------------------------------ public --

  /**
   * Starts smbd now if a configuration is installed, else after the first
   * successful apply. Rejects if smbd does not come up; supervision keeps
   * retrying with backoff all the same, until stop().
   */
  async start(): Promise<void> {
    await this.serial(async () => {
      this.wanted = true;
      await this.ensureDirs();
      if (!this.supervise) return;
      await this.killStale();
      if (existsSync(this.paths.config)) await this.launch();
    });
  }

  async apply(desired: SmbDesired): Promise<ApplyResult> {
    return this.serial(() => this.applyNow(desired));
  }

  /** Stops smbd and samba-dcerpcd (by pid) and waits for them to exit. */
  async stop(): Promise<void> {
    await this.serial(async () => {
      this.wanted = false;
      if (this.restartTimer) clearTimeout(this.restartTimer);
      this.restartTimer = null;
      if (this.supervise) await this.terminate();
    });
  }

  status(): SambaStatus {
    return {
      running: this.child !== null && this.child.exitCode === null && this.child.signalCode === null,
      pid: this.child?.pid ?? null,
      restarts: this.restarts,
      lastExit: this.lastExit,
    };
  }

  /** The smbd command line and environment, for a systemd unit on the image. */
  async smbdCommand(): Promise<{ command: string; args: string[]; env: Record<string, string> }> {
    return {
      command: join(this.sbin, 'smbd'),
      // --log-basename: where smbd logs before it has read smb.conf (else /var/log/samba).
      args: ['--foreground', '--no-process-group', `--configfile=${this.paths.config}`, `--log-basename=${this.paths.logDir}`],
      env: await this.env(),
    };
  }

  // ----------------------------------------------------------- apply ----

  private async applyNow(desired: SmbDesired): Promise<ApplyResult> {
    const result: ApplyResult = { problems: [], configChanged: false, accountsChanged: false, usersChanged: false };
    const gen = generate(desired, this.paths);
    result.problems.push(...gen.problems);
    await this.ensureDirs();

    // 1. Unix accounts first: passdb and smbd resolve names through them.
    const acc = accountFiles(gen.users, gen.groups);
    const p1 = await writeFileIfChanged(this.paths.passwd, acc.passwd, 0o644);
    const p2 = await writeFileIfChanged(this.paths.group, acc.group, 0o644);
    result.accountsChanged = p1 || p2;

    // 2. Share directories that cairnd prepares itself.
    for (const [i, s] of desired.shares.entries()) {
      if (gen.model.shares[s.name]) result.problems.push(...(await this.prepareShare(s, `shares.${i}`)));
    }

    // 3. smb.conf: check the candidate, install it only if Samba accepts it.
    let bindChanged = false;
    if (Object.keys(gen.model.global).length > 0) {
      const text = renderSmbConf(gen.model);
      const current = await readFile(this.paths.config, 'utf8').catch(() => null);
      if (text !== current) {
        await writeFileIfChanged(this.paths.candidate, text, 0o644);
        const verdict = await this.testparm(this.paths.candidate);
        if (verdict) {
          result.problems.push({ path: 'config', message: `Samba rejected the new configuration; the previous one stays in force: ${verdict}` });
          await unlink(this.paths.candidate).catch(() => undefined);
        } else {
          await rename(this.paths.candidate, this.paths.config);
          await this.syncDir(this.paths.root);
          result.configChanged = true;
          bindChanged = this.runningBindKey !== null && this.runningBindKey !== bindKey(gen.model);
          this.installedModel = gen.model;
          this.log.info({ shares: Object.keys(gen.model.shares) }, 'smb.conf installed');
        }
      } else {
        this.installedModel = gen.model;
      }
    }

    // 4. passdb.
    if (existsSync(this.paths.config)) {
      const r = await this.syncPassdb(gen.users, desired.users);
      result.usersChanged = r.changed;
      result.problems.push(...r.problems);
    } else {
      result.problems.push({ path: 'users', message: 'users not synchronised: no valid Samba configuration is installed yet' });
    }

    // 5. smbd.
    if (this.supervise && this.wanted) {
      if (this.isRunning() && bindChanged) {
        this.log.info('smb port, interfaces or clustering changed: restarting smbd');
        await this.terminate();
        await this.launch().catch((e: Error) => result.problems.push({ path: 'server', message: e.message }));
      } else if (this.isRunning() && result.configChanged) {
        const r = await this.reload();
        if (r) result.problems.push({ path: 'server', message: r });
      } else if (!this.isRunning() && !this.restartTimer && existsSync(this.paths.config)) {
        await this.launch().catch((e: Error) => result.problems.push({ path: 'server', message: e.message }));
      }
    } else if (!this.supervise && result.configChanged) {
      const r = await this.reload();
      if (r) result.problems.push({ path: 'server', message: r });
    }
    if (result.problems.length > 0) this.log.warn({ problems: result.problems }, 'smb apply left problems');
    return result;
  }

  /**
   * A local share's directory must exist (it belongs to the pool; cairnd does
   * not create it). With a recycle bin, `.recycle` is made (or repaired to)
   * sticky and world-writable so every user can create a private bin in it;
   * on Gluster shares vfs_recycle creates it so (recycle:directory_mode).
   */
  private async prepareShare(s: SmbShare, at: string): Promise<SmbProblem[]> {
    if (s.backend.kind !== 'local') return [];
    const path = s.backend.path;
    try {
      const st = await stat(path);
      if (!st.isDirectory()) return [{ path: `${at}.backend.path`, message: `${path} is not a directory` }];
    } catch (e) {
      return [{ path: `${at}.backend.path`, message: `${path} cannot be used (${(e as NodeJS.ErrnoException).code}); clients will not reach the share until it exists` }];
    }
    if (s.recycleBin?.enabled && !s.readOnly) {
      const bin = join(path, '.recycle');
      try {
        await mkdir(bin, { mode: 0o1777 }).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'EEXIST') throw e;
        });
        const st = await stat(bin);
        if (!st.isDirectory()) return [{ path: `${at}.recycleBin`, message: `${bin} exists and is not a directory` }];
        if ((st.mode & 0o7777) !== 0o1777) await chmod(bin, 0o1777);
      } catch (e) {
        return [{ path: `${at}.recycleBin`, message: `cannot prepare ${bin}: ${(e as Error).message}` }];
      }
    }
    return [];
  }

  // ---------------------------------------------------------- passdb ----

  private async syncPassdb(users: SmbDesired['users'], all: SmbDesired['users']): Promise<{ changed: boolean; problems: SmbProblem[] }> {
    const problems: SmbProblem[] = [];
    const at = (name: string) => {
      const i = all.findIndex((u) => u.name === name);
      return i >= 0 ? `users.${i}` : 'users';
    };
    const list = await this.tool(join(this.bin, 'pdbedit'), [`--configfile=${this.paths.config}`, '-L', '-w']);
    if (list.code !== 0) {
      return { changed: false, problems: [{ path: 'users', message: `pdbedit could not list users: ${scrub(list.stderr || list.stdout)}` }] };
    }
    const plan = planPassdb(users, parsePassdbList(list.stdout));
    let changed = false;

    for (const name of plan.remove) {
      const r = await this.tool(join(this.bin, 'pdbedit'), [`--configfile=${this.paths.config}`, '-x', '-u', name]);
      if (r.code !== 0) problems.push({ path: at(name), message: `could not delete Samba user ${name}: ${scrub(r.stderr || r.stdout)}` });
      else changed = true;
    }

    if (plan.upsert.length > 0) {
      const file = join(this.paths.tmpDir, `import-${process.pid}-${Date.now()}`);
      const fh = await open(file, 'wx', 0o600);
      try {
        const now = new Date();
        await fh.writeFile(plan.upsert.map((u) => smbpasswdLine(u, now)).join('\n') + '\n');
        await fh.close();
        const r = await this.tool(join(this.bin, 'pdbedit'), [`--configfile=${this.paths.config}`, '-i', `smbpasswd:${file}`]);
        if (r.code !== 0) {
          problems.push({ path: 'users', message: `pdbedit could not import users: ${scrub(r.stderr || r.stdout)}` });
        } else {
          changed = true;
        }
      } finally {
        await fh.close().catch(() => undefined);
        await unlink(file).catch(() => undefined);
      }
      // Import reports per account; confirm against a fresh listing.
      const after = await this.tool(join(this.bin, 'pdbedit'), [`--configfile=${this.paths.config}`, '-L', '-w']);
      const again = planPassdb(users, parsePassdbList(after.stdout));
      for (const u of again.upsert) problems.push({ path: at(u.name), message: `Samba did not accept user ${u.name}` });
    }

    // Someone removed or disabled keeps no open session.
    const cut = [...plan.remove, ...plan.upsert.filter((u) => !u.enabled).map((u) => u.name)];
    if (cut.length > 0 && this.isRunningOrExternal()) await this.disconnectUsers(new Set(cut));
    if (changed) this.log.info({ upserted: plan.upsert.map((u) => u.name), removed: plan.remove }, 'samba passdb updated');
    return { changed, problems };
  }

  /** Ends the smbd processes serving sessions of these users (smbstatus, smbcontrol shutdown). */
  private async disconnectUsers(names: Set<string>): Promise<void> {
    const r = await this.tool(join(this.bin, 'smbstatus'), [`--configfile=${this.paths.config}`, '-p', '-j']);
    if (r.code !== 0) return;
    let parsed: { sessions?: Record<string, { server_id?: { pid?: string }; username?: string }> };
    try {
      parsed = JSON.parse(r.stdout) as typeof parsed;
    } catch {
      return;
    }
    const pids = new Set<string>();
    for (const s of Object.values(parsed.sessions ?? {})) {
      if (s.username && names.has(s.username) && s.server_id?.pid) pids.add(s.server_id.pid);
    }
    for (const pid of pids) {
      await this.tool(join(this.bin, 'smbcontrol'), [`--configfile=${this.paths.config}`, pid, 'shutdown']);
      this.log.info({ pid }, 'closed smb session of a removed or disabled user');
    }
  }

  // ---------------------------------------------------------- config ----

  /** Returns null if testparm accepts the file, else what it objected to. */
  private async testparm(file: string): Promise<string | null> {
    const r = await this.tool(join(this.bin, 'testparm'), ['-s', file]);
    const complaints = r.stderr
      .split('\n')
      .filter((l) => /unknown parameter|not boolean|invalid|error|bad |cannot|can't|failed/i.test(l) && !/^Weak crypto/.test(l));
    if (r.code !== 0 || complaints.some((l) => /unknown parameter/i.test(l))) {
      return complaints.length > 0 ? [...new Set(complaints)].join('; ') : `testparm exited with ${r.code}`;
    }
    return null;
  }

  private async reload(): Promise<string | null> {
    const r = await this.tool(join(this.bin, 'smbcontrol'), [`--configfile=${this.paths.config}`, 'smbd', 'reload-config']);
    if (r.code !== 0) return `smbd did not take the new configuration: ${scrub(r.stderr || r.stdout)}`;
    this.log.info('smbd reloaded its configuration');
    return null;
  }

  // -------------------------------------------------------- processes ---

  private isRunning(): boolean {
    return this.status().running;
  }

  private isRunningOrExternal(): boolean {
    return !this.supervise || this.isRunning();
  }

  private async launch(): Promise<void> {
    const { command, args, env } = await this.smbdCommand();
    this.stderrTail = '';
    const [file, ...rest] = [...this.prefix, command, ...args];
    const child = spawn(file!, rest, { env, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    child.stderr!.on('data', (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString()).slice(-4000);
    });
    this.childExited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('exit', (code, signal) => this.onExit(child, code, signal));
    child.once('error', (e) => this.log.error({ err: e.message }, 'smbd could not be started'));
    const model = this.installedModel ?? (await this.readInstalledBind());
    this.runningBindKey = model ? bindKey(model) : null;
    const port = Number(model?.global['smb ports'] ?? 445);
    const host = this.connectHost(model);
    const started = Date.now();
    while (Date.now() - started < 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new SambaError(`smbd exited at start (${child.exitCode ?? child.signalCode}): ${this.stderrTail.trim().split('\n').slice(-3).join(' | ')}`);
      }
      if (await canConnect(host, port)) {
        this.log.info({ pid: child.pid, port }, 'smbd running');
        return;
      }
      await sleep(100);
    }
    // Kill it; its exit handler schedules the next attempt.
    if (child.pid) killGroup(child.pid, 'SIGKILL');
    throw new SambaError(`smbd did not listen on port ${port} within 15 s`);
  }

  private connectHost(model: SmbConfModel | null): string {
    if (this.probeHost) return this.probeHost;
    const first = (model?.global.interfaces ?? '').split(' ').find((x) => /^\d+\.\d+\.\d+\.\d+/.test(x));
    return first ? first.split('/')[0]! : '127.0.0.1';
  }

  /** After a restart of cairnd the model is not in memory: read port and interfaces back. */
  private async readInstalledBind(): Promise<SmbConfModel | null> {
    const text = await readFile(this.paths.config, 'utf8').catch(() => null);
    if (text === null) return null;
    const global: Record<string, string> = {};
    for (const line of text.split('\n')) {
      if (/^\s*\[/.test(line) && !/^\s*\[global\]/.test(line)) break;
      const m = /^\s*([^=#;]+?)\s*=\s*(.*)$/.exec(line);
      if (m && ['smb ports', 'interfaces', 'clustering', 'ctdbd socket'].includes(m[1]!)) global[m[1]!] = m[2]!;
    }
    return { global, shares: {} };
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.lastExit = { code, signal, at: new Date().toISOString(), stderr: this.stderrTail.slice(-1000) };
    this.child = null;
    if (!this.wanted) return;
    // smbd died on its own: its helpers may linger, clear them, then retry
    // with a growing delay (1 s … 30 s), back to 1 s after a minute of health.
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, 30_000);
    this.log.warn({ code, signal, retryInMs: delay }, 'smbd exited unexpectedly');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      void this.serial(async () => {
        if (!this.wanted || this.isRunning()) return;
        this.restarts++;
        await this.killDcerpcd();
        try {
          await this.launch();
          const healthy = setTimeout(() => (this.backoffMs = 1000), 60_000);
          healthy.unref();
        } catch (e) {
          // The failed child's exit handler schedules the next attempt.
          this.log.error({ err: (e as Error).message }, 'smbd restart failed');
        }
      });
    }, delay);
    this.restartTimer.unref();
  }

  private async terminate(): Promise<void> {
    const child = this.child;
    const exited = this.childExited;
    this.child = null;
    this.runningBindKey = null;
    if (child && child.pid && child.exitCode === null && child.signalCode === null) {
      killGroup(child.pid, 'SIGTERM');
      const done = await Promise.race([exited?.then(() => true), sleep(5000).then(() => false)]);
      if (!done) {
        killGroup(child.pid, 'SIGKILL');
        await exited;
      }
      // Per-client children in the same group that outlived the parent.
      killGroup(child.pid, 'SIGKILL');
    }
    await this.killDcerpcd();
  }

  private async killDcerpcd(): Promise<void> {
    await this.killByPidFile('samba-dcerpcd');
  }

  /** smbd or samba-dcerpcd left over from an earlier cairnd with this data dir. */
  private async killStale(): Promise<void> {
    await this.killByPidFile('smbd');
    await this.killByPidFile('samba-dcerpcd');
  }

  /** Kills the process group of the pid in `<pidDir>/<name>.pid` if it is ours (same config file). */
  private async killByPidFile(name: string): Promise<void> {
    const text = await readFile(join(this.paths.pidDir, `${name}.pid`), 'utf8').catch(() => null);
    const pid = Number(text?.trim());
    if (!Number.isInteger(pid) || pid <= 1) return;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (!cmdline.includes(name) || !cmdline.includes(this.paths.config)) return;
    killGroup(pid, 'SIGTERM');
    for (let i = 0; i < 50 && (await alive(pid)); i++) await sleep(100);
    if (await alive(pid)) killGroup(pid, 'SIGKILL');
  }

  // ------------------------------------------------------------ tools ---

  private async env(): Promise<Record<string, string>> {
    this.nssWrapper ??= await findNssWrapper();
    return {
      PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
      LANG: 'C.UTF-8',
      LD_PRELOAD: this.nssWrapper,
      NSS_WRAPPER_PASSWD: this.paths.passwd,
      NSS_WRAPPER_GROUP: this.paths.group,
    };
  }

  private async tool(file: string, args: string[]): Promise<ToolResult> {
    const env = await this.env();
    const [cmd, ...argv] = [...this.prefix, file, ...args];
    return new Promise((resolve) => {
      execFile(cmd!, argv, { env, timeout: this.toolTimeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? Number((err as NodeJS.ErrnoException).code) : -1) : 0;
        if (err && code === -1) stderr = `${stderr}\n${err.message}`;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      });
    });
  }

  private async ensureDirs(): Promise<void> {
    const p = this.paths;
    await mkdir(p.root, { recursive: true, mode: 0o755 });
    for (const d of [p.lockDir, p.stateDir, p.cacheDir, p.pidDir, p.ncalrpcDir, p.bindDnsDir, p.logDir, join(p.root, 'accounts')]) {
      await mkdir(d, { recursive: true, mode: 0o755 });
    }
    for (const d of [p.privateDir, p.tmpDir]) {
      await mkdir(d, { recursive: true, mode: 0o700 });
      await chmod(d, 0o700);
    }
  }

  private async syncDir(dir: string): Promise<void> {
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

async function alive(pid: number): Promise<boolean> {
  // A zombie still answers kill(0); read its state instead.
  const st = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  if (st === null) return false;
  const state = st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.setTimeout(500, () => done(false));
  });
}
