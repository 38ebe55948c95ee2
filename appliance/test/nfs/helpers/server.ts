/** An in-process NfsServer over memory backends, on port 0, for protocol tests. */
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import type { Backend } from '../../../src/nfs/backend/backend.js';
import { HandleCodec } from '../../../src/nfs/backend/filehandle.js';
import { MemoryBackend } from '../../../src/nfs/backend/memory/index.js';
import type { ClientRule, ExportSpec } from '../../../src/nfs/exports.js';
import { NfsServer } from '../../../src/nfs/server.js';

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
