/**
 * The RPC transport never drops a connection silently: every close is
 * logged with its reason and the calls still in flight (warn for the
 * server's own closes, lost sockets and clients leaving with calls
 * pending), and a call that stalls in the backend keeps its connection
 * until it is answered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type AddressInfo } from 'node:net';
import { once } from 'node:events';
import type { Dispatcher } from '../../src/nfs/rpc/dispatch.js';
import type { Logger } from '../../src/nfs/rpc/program.js';
import { createRpcServer } from '../../src/nfs/rpc/transport.js';

interface Line { level: string; obj: Record<string, unknown>; msg?: string }

function capture(): Logger & { lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return { lines, info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') };
}

const record = (body: Buffer) => {
  const h = Buffer.alloc(4);
  h.writeUInt32BE((0x80000000 | body.length) >>> 0);
  return Buffer.concat([h, body]);
};

async function serve(t: import('node:test').TestContext, handle: Dispatcher['handle']) {
  const log = capture();
  const server = createRpcServer({ handle } as unknown as Dispatcher, log, { maxRecord: 4096 });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as AddressInfo).port;
  const until = async (what: string, ok: () => boolean) => {
    const end = Date.now() + 5000;
    while (!ok()) {
      assert.ok(Date.now() < end, `${what}: ${JSON.stringify(log.lines)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return { log, port, until };
}

test('a refused record: the close is logged with its reason', async (t) => {
  const { log, port, until } = await serve(t, async () => undefined);
  const s = connect(port, '127.0.0.1');
  s.on('error', () => undefined);
  await once(s, 'connect');
  const h = Buffer.alloc(4);
  h.writeUInt32BE((0x80000000 | 8192) >>> 0);
  s.write(h);
  await until('close logged', () => log.lines.some((l) => l.msg === 'RPC connection closed by the server'));
  const l = log.lines.find((x) => x.msg === 'RPC connection closed by the server')!;
  assert.equal(l.level, 'warn');
  assert.match(String(l.obj['reason']), /record of 8192 bytes refused/);
  assert.equal(l.obj['inFlight'], 0);
});

test('a client that leaves while a call stalls: warn with the call in flight; a stalled call keeps its connection', async (t) => {
  let answer: (b: Buffer[]) => void = () => undefined;
  const { log, port, until } = await serve(t, () => new Promise<Buffer[]>((r) => (answer = r)));
  const s = connect(port, '127.0.0.1');
  s.on('error', () => undefined);
  await once(s, 'connect');
  s.write(record(Buffer.alloc(40)));
  // The call stalls (a backend waiting out a Gluster failover); the connection stays.
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(s.destroyed, false);
  assert.deepEqual(log.lines.filter((l) => /closed|lost/.test(l.msg ?? '')), []);
  const reply = Buffer.from([0x80, 0, 0, 4, 1, 2, 3, 4]);
  const got = once(s, 'data');
  answer([reply]);
  assert.deepEqual((await got)[0], reply, 'the stalled call is answered on its connection');
  // Another call stalls, and the client gives up on it.
  s.write(record(Buffer.alloc(40)));
  await new Promise((r) => setTimeout(r, 50));
  s.destroy();
  await until('close logged', () => log.lines.some((l) => /closed|lost/.test(l.msg ?? '')));
  const l = log.lines.find((x) => /closed|lost/.test(x.msg ?? ''))!;
  assert.equal(l.level, 'warn', JSON.stringify(l));
  assert.equal(l.obj['inFlight'], 1);
  assert.equal(l.obj['calls'], 2);
  answer([reply]); // a late answer to a closed connection is dropped quietly
});

test('a client that hangs up with nothing pending: debug only', async (t) => {
  const { log, port, until } = await serve(t, async () => [Buffer.from([0x80, 0, 0, 0])]);
  const s = connect(port, '127.0.0.1');
  await once(s, 'connect');
  s.end();
  await until('close logged', () => log.lines.some((l) => /closed/.test(l.msg ?? '')));
  assert.deepEqual(log.lines.map((l) => [l.level, l.obj['reason']]), [['debug', 'closed by the client']]);
});

test('a client that resets its connection with nothing pending: info, with the socket error', async (t) => {
  const { log, port, until } = await serve(t, async () => [Buffer.from([0x80, 0, 0, 0])]);
  const s = connect(port, '127.0.0.1');
  await once(s, 'connect');
  s.resetAndDestroy();
  await until('close logged', () => log.lines.some((l) => /closed|lost/.test(l.msg ?? '')));
  assert.deepEqual(log.lines.map((l) => [l.level, l.obj['reason'], l.obj['inFlight']]), [['info', 'socket error: ECONNRESET', 0]]);
});
