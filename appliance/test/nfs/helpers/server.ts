/** An in-process NfsServer over memory backends, on port 0, for protocol tests. */
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { Backend } from '../../../src/nfs/backend/backend.js';
import { HandleCodec } from '../../../src/nfs/backend/filehandle.js';
import { MemoryBackend } from '../../../src/nfs/backend/memory/index.js';
import { openPosixBackend } from '../../../src/nfs/backend/posix/index.js';
import type { ClientRule, ExportSpec } from '../../../src/nfs/exports.js';
import { NfsServer } from '../../../src/nfs/server.js';
import { RpcClient } from './rpc-client.js';

export const quietLog = { info() {}, warn() {}, error() {}, debug() {} };

export interface TestServer {
  server: NfsServer;
  port: number;
  backend: Backend;
  codec: HandleCodec;
  secret: Buffer;
}

export async function startTestServer(
  t: TestContext,
  opts: { clients?: ClientRule[]; backend?: Backend; exports?: (backend: Backend) => ExportSpec[]; maxRecord?: number; readBuffers?: number } = {},
): Promise<TestServer> {
  const backend = opts.backend ?? new MemoryBackend();
  const secret = randomBytes(32);
  const exports = opts.exports?.(backend) ?? [{ path: '/export', backend, clients: opts.clients ?? [{ match: '*', squash: 'no_root_squash' }] }];
  const server = new NfsServer({ handleSecret: secret, log: quietLog, exports, maxRecord: opts.maxRecord, readBuffers: opts.readBuffers });
  const { port } = await server.start({ host: '127.0.0.1', port: 0 });
  t.after(async () => {
    await server.stop();
    await backend.close();
  });
  return { server, port, backend, codec: new HandleCodec(secret), secret };
}

/**
 * The posix backend over a fresh temp directory (mode 0755), served on
 * port 0, with a connected raw RPC client and the export's root handle.
 * `withFastPath` false hides readdirXdr, so READDIR(PLUS) go through the
 * contract's readdir. Needs root.
 */
export async function posixRawServer(t: TestContext, withFastPath: boolean, prefix = 'cairn-posix-raw-') {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await chmod(dir, 0o755);
  const b = await openPosixBackend(dir);
  const backend: Backend = withFastPath ? b : Object.assign(Object.create(Object.getPrototypeOf(b) as object) as Backend, b, { readdirXdr: undefined });
  const s = await startTestServer(t, { backend });
  const c = await RpcClient.connect(s.port);
  t.after(() => c.close());
  const { fh } = await c.mount('/export');
  return { dir, c, root: fh! };
}
