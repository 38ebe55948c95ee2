// A READ planned from the fd cache (Backend.readDirect: the reply's count
// and attributes made at once) whose data leaves later, on a worker: the
// file may be removed in between, by this server (another client's
// REMOVE, RENAME over it) or beside it. The data is then still the file's,
// as from an fd open across an unlink. Before, the send failed with
// ESTALE after the reply was promised, and the transport closed the
// connection, failing every other call of that client (found by the
// stateful fuzzer over TCP). Needs root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPosixBackend } from '../../../src/nfs/backend/posix/index.js';
import type { Cred } from '../../../src/nfs/backend/backend.js';

const root: Cred = { uid: 0, gid: 0, gids: [] };

async function socketPair(): Promise<{ a: Socket; b: Socket; close: () => void }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const a = connect((server.address() as { port: number }).port, '127.0.0.1');
  await new Promise((r) => a.once('connect', r));
  const b = await accepted;
  return { a, b, close: () => (a.destroy(), b.destroy(), server.close()) };
}

test('posix: a planned READ of a file removed before its data left still sends the file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-direct-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const b = await openPosixBackend(dir);
  t.after(() => b.close());
  const r = await b.root();
  const data = randomBytes(300_000);
  for (const name of ['sent', 'filled']) {
    const f = await b.create(root, r, name, { mode: 'unchecked', attrs: { mode: 0o644 } });
    await b.write(root, f.handle, 0n, data, 'file_sync');
  }
  const plan = async (name: string) => {
    const h = (await b.lookup(root, r, name)).handle;
    await b.getattr(h); // cached: readDirect plans only from the fd cache
    const d = b.readDirect!(root, h, 1000n, 200_000);
    assert.ok(d, 'planned');
    assert.equal(d.count, 200_000);
    await b.remove(root, r, name);
    return d;
  };

  // Sent straight to the socket (DirectSender.sendAll).
  const d = await plan('sent');
  const { a, b: peer, close } = await socketPair();
  t.after(close);
  const got: Buffer[] = [];
  peer.on('data', (c: Buffer) => got.push(c));
  const fd = (a as unknown as { _handle: { fd: number } })._handle.fd;
  const head = Buffer.from('HEAD');
  const spill = Buffer.alloc(head.length + d.count);
  const { index, left } = await d.sender.sendAll(fd, [{ read: d, head, tail: Buffer.alloc(0), spill }]);
  assert.equal(index, left > 0 ? 0 : 1);
  if (left > 0) a.write(spill.subarray(0, left));
  const want = Buffer.concat([head, data.subarray(1000, 201_000)]);
  for (let i = 0; i < 100 && Buffer.concat(got).length < want.length; i++) await new Promise((res) => setTimeout(res, 20));
  assert.ok(Buffer.concat(got).equals(want), 'the removed file\'s bytes, whole');

  // Read into the reply's buffer first (the socket had bytes queued).
  const e = await plan('filled');
  const into = Buffer.alloc(e.count);
  await e.fill(into);
  assert.ok(into.equals(data.subarray(1000, 201_000)));
});
