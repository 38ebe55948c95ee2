/**
 * `cairnd nfs-serve`: one export of one directory over NFSv3 + MOUNTv3 on
 * one port, no rpcbind, until SIGTERM — for tests and benchmarks.
 *
 *   cairnd nfs-serve --dir DIR --port PORT [--export-path /export] [--read-only]
 *                    [--backend posix|memory] [--clients LIST] [--squash MODE]
 *                    [--fh-secret FILE] [--host ADDR]
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
  --port N             port of NFS and MOUNT (0 picks a free one)
  --host ADDR          address to listen on (default 0.0.0.0)
  --export-path PATH   what clients mount (default /export)
  --read-only          refuse every change with NFS3ERR_ROFS
  --backend NAME       ${Object.keys(BACKENDS).join(', ')}, posix (default posix)
  --clients LIST       comma-separated IPs, CIDRs or * (default *)
  --squash MODE        root_squash, all_squash or no_root_squash (default no_root_squash)
  --fh-secret FILE     file handle secret (default: a file per DIR in the temp directory)
  --log-level LEVEL    default info`;

const SQUASH: Squash[] = ['root_squash', 'all_squash', 'no_root_squash'];

export async function nfsServe(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        dir: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        'export-path': { type: 'string' },
        'read-only': { type: 'boolean' },
        backend: { type: 'string' },
        clients: { type: 'string' },
        squash: { type: 'string' },
        'fh-secret': { type: 'string' },
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
  if (!v.dir) throw new UsageError(`--dir is required\n${NFS_SERVE_USAGE}`, EXIT.usage);
  if (v.port === undefined) throw new UsageError(`--port is required\n${NFS_SERVE_USAGE}`, EXIT.usage);
  const port = parsePort(v.port, '--port');
  const backendName = v.backend ?? 'posix';
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

  let dir: string;
  try {
    dir = await realpath(resolve(v.dir));
  } catch (e) {
    throw new UsageError(`--dir ${JSON.stringify(v.dir)}: ${(e as Error).message}`, EXIT.usage);
  }
  const secretFile = v['fh-secret'] ?? join(tmpdir(), `cairn-nfs-fh-${createHash('sha256').update(dir).digest('hex').slice(0, 16)}.secret`);
  const backend = await open({ dir });
  let server: NfsServer;
  try {
    server = new NfsServer({
      handleSecretFile: secretFile,
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
  const ports = await server.start({ host: v.host ?? '0.0.0.0', port });
  log.info({ port: ports.port, backend: backend.kind, dir, export: v['export-path'] ?? '/export', readOnly: v['read-only'] ?? false }, 'nfs listening');
  const signal = await stopSignal;
  log.info({ signal }, 'nfs stopping');
  await server.stop();
  await backend.close();
  return 0;
}
