/**
 * cairnd's life cycle: check the data directory, build the API, listen,
 * tell systemd READY, keep the watchdog fed, and shut down cleanly on
 * SIGTERM/SIGINT (stop accepting, finish in-flight requests, exit 0).
 */
import type { FastifyInstance } from 'fastify';
import { buildApp } from './api/app.js';
import { UsageError, EXIT } from './cli/errors.js';
import type { DaemonOptions } from './cli/args.js';
import { checkDataDir } from './data-dir.js';
import { createLogger, type Logger } from './log.js';
import { Health } from './system/health.js';
import { Systemd } from './system/sd-notify.js';
import { VERSION } from './version.js';

export interface Daemon {
  app: FastifyInstance;
  log: Logger;
  dataDir: string;
  /** The API's bound address, e.g. http://127.0.0.1:8080 */
  url: string;
  close(reason?: string): Promise<void>;
}

export async function startDaemon(opts: DaemonOptions, log: Logger = createLogger(opts.logLevel)): Promise<Daemon> {
  const dataDir = await checkDataDir(opts.dataDir);
  const systemd = new Systemd(log);
  const health = new Health(VERSION);
  health.register('api', () => ({ status: 'ok' }));

  const app = await buildApp({ log, health });
  try {
    await app.listen({ host: opts.host, port: opts.port });
  } catch (e) {
    await app.close().catch(() => {});
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new UsageError(
        `port ${opts.port} on ${opts.host} is already in use (another cairnd?): stop that process or pass --port`,
        EXIT.unavailable,
      );
    }
    if (code === 'EACCES') {
      throw new UsageError(`port ${opts.port} needs privileges: run as root or pass --port above 1023`, EXIT.unavailable);
    }
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
      throw new UsageError(`address ${opts.host} is not on this machine: pass --host with a local address`, EXIT.unavailable);
    }
    throw e;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const shownHost = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  const url = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`;

  log.info({ dataDir, url, version: VERSION }, 'cairnd listening');
  systemd.ready(`serving API on :${port}`);
  const watchdogMs = systemd.startWatchdog();
  if (watchdogMs) log.info({ everyMs: watchdogMs }, 'systemd watchdog on');

  let closing: Promise<void> | undefined;
  const close = (reason = 'shutdown'): Promise<void> => {
    closing ??= (async () => {
      log.info({ reason }, 'cairnd stopping');
      systemd.stopping(`stopping: ${reason}`);
      systemd.stopWatchdog();
      await app.close();
      log.info('cairnd stopped');
    })();
    return closing;
  };
  return { app, log, dataDir, url, close };
}
