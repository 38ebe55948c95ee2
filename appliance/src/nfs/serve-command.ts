/**
 * `cairnd nfs-serve`: one export of one directory over NFSv3 + MOUNTv3 on
 * one port, no rpcbind, until SIGTERM — for tests and benchmarks.
 *
 *   cairnd nfs-serve --dir DIR --port PORT [--export-path /export] [--read-only]
 *                    [--backend posix|memory] [--clients LIST] [--squash MODE]
 *                    [--fh-secret FILE] [--host ADDR]
 *   cairnd nfs-serve --backend gfapi --volume NAME --volfile-server HOST --port PORT …
 *
 * Prints one JSON log line `{"msg":"nfs listening","port":P,…}` when ready.
 */
import { createHash } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parsePort } from '../cli/args.js';
import { EXIT, UsageError } from '../cli/errors.js';
import { createLogger } from '../log.js';
import { BACKENDS } from './backend/index.js';
import type { Squash } from './exports.js';
import { NfsServer } from './server.js';

export const NFS_SERVE_USAGE = `usage: cairnd nfs-serve --dir DIR --port PORT [options]

  --dir DIR            directory to serve (posix backend)
  --volume NAME        Gluster volume to serve (gfapi backend)
  --volfile-server H   glusterd to fetch the volume file from (gfapi; default localhost)
  --volfile-port N     glusterd's port (gfapi; default 24007)
  --port N             port of NFS and MOUNT (0 picks a free one)
  --host ADDR          address to listen on (default 0.0.0.0)
  --export-path PATH   what clients mount (default /export)
  --read-only          refuse every change with NFS3ERR_ROFS
  --backend NAME       ${Object.keys(BACKENDS).join(', ')} (default posix)
  --clients LIST       comma-separated IPs, CIDRs or * (default *)
  --squash MODE        root_squash, all_squash or no_root_squash (default no_root_squash)
  --rpcbind            register NFS, MOUNT, NLM and NSM with rpcbind on 127.0.0.1:111 (off by default)
  --mount-port N       also serve MOUNT alone on this port (0 picks one)
  --fh-secret FILE     file handle secret (default: a file per DIR in the temp directory)
  --state-dir DIR      keep the hosts holding NLM locks here: after a restart they are
                       told to reclaim them (grace period); default: locks die with the process
  --log-level LEVEL    default info`;

const SQUASH: Squash[] = ['root_squash', 'all_squash', 'no_root_squash'];

export async function nfsServe(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        dir: { type: 'string' },
        volume: { type: 'string' },
        'volfile-server': { type: 'string' },
        'volfile-port': { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        'export-path': { type: 'string' },
        'read-only': { type: 'boolean' },
        backend: { type: 'string' },
        clients: { type: 'string' },
        squash: { type: 'string' },
        'fh-secret': { type: 'string' },
        'state-dir': { type: 'string' },
        rpcbind: { type: 'boolean' },
        'mount-port': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (e) {
    throw new UsageError(`${(e as Error).message.split('\n')[0]}\n${NFS_SERVE_USAGE}`, EXIT.usage);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(`${NFS_SERVE_USAGE}\n`);
    return 0;
  }
  const backendName = v.backend ?? 'posix';
  const gluster = backendName === 'gfapi';
  if (gluster && !v.volume) throw new UsageError(`--backend gfapi needs --volume NAME\n${NFS_SERVE_USAGE}`, EXIT.usage);
  if (!gluster && !v.dir) throw new UsageError(`--dir is required\n${NFS_SERVE_USAGE}`, EXIT.usage);
  if (v.port === undefined) throw new UsageError(`--port is required\n${NFS_SERVE_USAGE}`, EXIT.usage);
  const port = parsePort(v.port, '--port');
  const volfilePort = v['volfile-port'] === undefined ? undefined : parsePort(v['volfile-port'], '--volfile-port');
  const open = BACKENDS[backendName];
  if (!open) {
    const known = Object.keys(BACKENDS).join(', ');
    throw new UsageError(`--backend ${JSON.stringify(backendName)} is not available in this build (available: ${known})`, EXIT.usage);
  }
  const squash = (v.squash ?? 'no_root_squash') as Squash;
  if (!SQUASH.includes(squash)) throw new UsageError(`--squash must be one of ${SQUASH.join(', ')}`, EXIT.usage);
  const clients = (v.clients ?? '*').split(',').filter((c) => c !== '');
  const level = (v['log-level'] ?? 'info') as 'info';
  const log = createLogger(level);

  let dir = '';
  if (v.dir) {
    try {
      dir = await realpath(resolve(v.dir));
    } catch (e) {
      throw new UsageError(`--dir ${JSON.stringify(v.dir)}: ${(e as Error).message}`, EXIT.usage);
    }
  }
  // The handle secret is per served object: the directory, or the volume.
  const servedId = gluster ? `gfapi:${v.volume}` : dir;
  const secretFile = v['fh-secret'] ?? join(tmpdir(), `cairn-nfs-fh-${createHash('sha256').update(servedId).digest('hex').slice(0, 16)}.secret`);
  let backend;
  try {
    backend = await open({ dir, volume: v.volume, volfileServer: v['volfile-server'], volfilePort });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot open the ${backendName} backend (${code ?? 'error'}): ${(e as Error).message}`, EXIT.unavailable);
  }
  let server: NfsServer;
  try {
    server = new NfsServer({
      handleSecretFile: secretFile,
      stateDir: v['state-dir'],
      log,
      exports: [
        {
          path: v['export-path'] ?? '/export',
          backend,
          clients: clients.map((match) => ({ match, readOnly: v['read-only'] ?? false, squash })),
        },
      ],
    });
  } catch (e) {
    await backend.close();
    throw new UsageError((e as Error).message, EXIT.usage);
  }
  const stopSignal = new Promise<NodeJS.Signals>((res) => {
    process.once('SIGTERM', () => res('SIGTERM'));
    process.once('SIGINT', () => res('SIGINT'));
  });
  const mountPort = v['mount-port'] === undefined ? undefined : parsePort(v['mount-port'], '--mount-port');
  const ports = await server.start({ host: v.host ?? '0.0.0.0', port, mountPort, rpcbind: v.rpcbind ?? false });
  log.info({ port: ports.port, mountPort: ports.mountPort, backend: backend.kind, dir: dir || undefined, volume: v.volume, export: v['export-path'] ?? '/export', readOnly: v['read-only'] ?? false }, 'nfs listening');
  const signal = await stopSignal;
  log.info({ signal }, 'nfs stopping');
  await server.stop();
  await backend.close();
  return 0;
}
