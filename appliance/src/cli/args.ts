/**
 * Command line of cairnd. Every flag is declared here, once; unknown flags
 * and bad values are UsageErrors (one line, exit 64).
 */
import { parseArgs } from 'node:util';
import { UsageError, EXIT } from './errors.js';

export interface DaemonOptions {
  /** Where the state document, Samba's private files and the local pool live. */
  dataDir: string;
  /** Address and port of the REST API and console. */
  host: string;
  port: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** NFS + MOUNT port; overrides the state's settings.nfs.port (0 = any free port). */
  nfsPort?: number;
  /** smbd's port (default 445; 0 = any free port). */
  smbPort: number;
  /** Register NFS, MOUNT, NLM and NSM with the system rpcbind when it answers. */
  rpcbind: boolean;
}

export const DEFAULT_DATA_DIR = '/var/lib/cairn';
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const DAEMON_USAGE = `usage: cairnd [run] [--data-dir DIR] [--host ADDR] [--port N] [--log-level LEVEL]
                    [--nfs-port N] [--smb-port N] [--no-rpcbind]

  --data-dir DIR     state, configuration and the local pool (default ${DEFAULT_DATA_DIR})
  --host ADDR        address of the API and console (default 0.0.0.0)
  --port N           port of the API and console (default 8080; 0 picks a free one)
  --log-level LEVEL  ${LOG_LEVELS.join(', ')} (default info)
  --nfs-port N       NFS and MOUNT port (default: the state's setting, 2049; 0 picks a free one)
  --smb-port N       Samba's port (default 445; 0 picks a free one)
  --no-rpcbind       do not register NFS, MOUNT, NLM and NSM with the system rpcbind`;

export function parsePort(value: string, flag: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) {
    throw new UsageError(`${flag} ${JSON.stringify(value)} is not a port number: give 0 to 65535`, EXIT.usage);
  }
  return Number(value);
}

export function parseDaemonArgs(argv: string[]): DaemonOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        'data-dir': { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        'log-level': { type: 'string' },
        'nfs-port': { type: 'string' },
        'smb-port': { type: 'string' },
        'no-rpcbind': { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (e) {
    throw new UsageError(`${(e as Error).message.split('\n')[0]} (cairnd --help lists the flags)`, EXIT.usage);
  }
  const v = parsed.values;
  const logLevel = v['log-level'] ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new UsageError(`--log-level ${JSON.stringify(logLevel)} is unknown: use one of ${LOG_LEVELS.join(', ')}`, EXIT.usage);
  }
  if (v['data-dir'] === '') throw new UsageError('--data-dir is empty: give a directory', EXIT.usage);
  return {
    dataDir: v['data-dir'] ?? DEFAULT_DATA_DIR,
    host: v.host ?? '0.0.0.0',
    port: v.port === undefined ? 8080 : parsePort(v.port, '--port'),
    logLevel: logLevel as DaemonOptions['logLevel'],
    ...(v['nfs-port'] === undefined ? {} : { nfsPort: parsePort(v['nfs-port'], '--nfs-port') }),
    smbPort: v['smb-port'] === undefined ? 445 : parsePort(v['smb-port'], '--smb-port'),
    rpcbind: !v['no-rpcbind'],
  };
}
