/**
 * cairnd's entry point: picks the subcommand, turns operator errors into
 * one line and an exit code, and wires signals to a clean shutdown.
 */
import { hostname } from 'node:os';
import { DAEMON_USAGE, parseDaemonArgs } from './cli/args.js';
import { UsageError, EXIT } from './cli/errors.js';
import { nfsServe } from './nfs/serve-command.js';
import { VERSION } from './version.js';

type Command = (argv: string[]) => Promise<number>;

/**
 * The daemon (Fastify, the API, the console) is loaded only by the commands
 * that need it: `nfs-serve` starts seconds sooner without it.
 */
const loadDaemon = () => import('./daemon.js');

const COMMANDS: Record<string, Command> = {
  run: runDaemon,
  'nfs-serve': nfsServe,
  // Before glusterd on the image (cairn-bricks.service): brick disks mounted first.
  'mount-bricks': async (argv) => (await import('./pool/gluster/mount-bricks-command.js')).mountBricksCommand(argv),
  openapi: printOpenApi,
};

/** `cairnd openapi`: prints the REST API's OpenAPI document (for the console's types and docs). */
async function printOpenApi(argv: string[]): Promise<number> {
  if (argv.length) throw new UsageError(`openapi takes no arguments (got ${argv.join(' ')})`, EXIT.usage);
  const { openApiDocument } = await loadDaemon();
  // `cairnd openapi | head` closes the pipe early: that is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  process.stdout.write(`${JSON.stringify(await openApiDocument(), null, 2)}\n`);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(`${DAEMON_USAGE}\n\ncommands: ${Object.keys(COMMANDS).join(', ')}\n`);
    return 0;
  }
  if (first === '--version') {
    process.stdout.write(`cairnd ${VERSION}\n`);
    return 0;
  }
  const command = first !== undefined && !first.startsWith('-') ? first : 'run';
  const args = command === first ? rest : argv;
  const run = COMMANDS[command];
  try {
    if (!run) throw new UsageError(`unknown command ${JSON.stringify(command)}: use one of ${Object.keys(COMMANDS).join(', ')}`, EXIT.usage);
    return await run(args);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`cairnd: ${e.message}\n`);
      return e.exitCode;
    }
    process.stderr.write(`cairnd: ${(e as Error).stack ?? String(e)}\n`);
    return EXIT.software;
  }
}

async function runDaemon(argv: string[]): Promise<number> {
  const opts = parseDaemonArgs(argv);
  // Handlers first: a signal that arrives while starting stops the daemon
  // as soon as it is up, instead of killing it half-started.
  let stopSignal: NodeJS.Signals | undefined;
  let onSignal: (signal: NodeJS.Signals) => void = (signal) => (stopSignal = signal);
  const handler = (signal: NodeJS.Signals) => onSignal(signal);
  process.once('SIGTERM', handler);
  process.once('SIGINT', handler);
  const { startDaemon } = await loadDaemon();
  const { NfsDriver } = await import('./nfs/driver.js');
  const { SmbDriver } = await import('./smb/driver.js');
  const { GlusterPoolDriver } = await import('./pool/gluster/driver.js');
  const { smbClusterCallback } = await import('./cluster/smb-cluster.js');
  // The gluster driver's watch asks for a pass when a brick dies or heal ends.
  let reconcile: (() => void) | undefined;
  const daemon = await startDaemon(opts, undefined, {
    drivers: ({ dataDir, log, metrics, store, cluster }) => [
      new GlusterPoolDriver({
        log: log.child({ component: 'gluster' }),
        metrics,
        host: process.env.CAIRN_CLUSTER_HOSTNAME || hostname(),
        requestReconcile: () => reconcile?.(),
      }),
      new NfsDriver({ dataDir, log: log.child({ component: 'nfs' }), port: opts.nfsPort, rpcbind: opts.rpcbind }),
      new SmbDriver({
        dataDir,
        log: log.child({ component: 'smb' }),
        port: opts.smbPort,
        // Clustered SMB (CTDB) from the cluster's shared state; null while alone or off.
        cluster: smbClusterCallback({ dataDir, store, cluster, log: log.child({ component: 'smb' }) }),
      }),
    ],
  });
  reconcile = () => void daemon.reconciler.trigger();
  return new Promise<number>((resolve) => {
    onSignal = (signal) => {
      daemon.close(signal).then(
        () => resolve(0),
        (err: unknown) => {
          daemon.log.error({ err }, 'unclean shutdown');
          resolve(EXIT.software);
        },
      );
    };
    if (stopSignal) onSignal(stopSignal);
  });
}
