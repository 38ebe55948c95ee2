/**
 * READ replies are read into 1 MiB buffers lent by the transport's pool and
 * given back from the socket write callback (transport.ts). A buffer given
 * back too early would be overwritten by the next READ while its reply still
 * waits in the socket's queue. Here eight connections pipeline 1 MiB READs of
 * distinct files against a pool of two buffers, with their sockets paused so
 * that replies pile up unsent; every byte must come back as it is on disk.
 * On posix, READ replies go from the file to the socket in batches
 * (DirectSender), which a full socket cuts short; those paths run here too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Backend, DirectSender } from '../../src/nfs/backend/backend.js';
import { MemoryBackend } from '../../src/nfs/backend/memory/index.js';
import { openPosixBackend } from '../../src/nfs/backend/posix/index.js';
import { XdrWriter } from '../../src/nfs/xdr/writer.js';
import { dirop, readPostOpAttr, RpcClient } from './helpers/rpc-client.js';
import { startTestServer } from './helpers/server.js';

const MiB = 1024 * 1024;
const CLIENTS = 8;
const CALLS = 6;
const NFSPROC3_LOOKUP = 3;
const NFSPROC3_READ = 6;
const NFSPROC3_CREATE = 8;
const NFSPROC3_WRITE = 7;

/** File i: CALLS MiB minus i bytes of its own random content (the last READ is short). */
const contents = Array.from({ length: CLIENTS }, (_, i) => randomBytes(CALLS * MiB - i * 4099));

async function readAll(port: number, name: string, size: number): Promise<Buffer> {
  const c = await RpcClient.connect(port);
  try {
    const root = (await c.mount('/export')).fh!;
    const look = await c.nfs(NFSPROC3_LOOKUP, dirop(root, name));
    assert.equal(look.u32(), 0, `LOOKUP ${name}`);
    const fh = Buffer.from(look.opaque(64));
    const out = Buffer.alloc(size);
    for (let round = 0; round < 2; round++) {
      out.fill(0);
      // All READs at once, then not reading replies for a while: the server's
      // writes back up in the kernel and in the socket's queue.
      c.sock.pause();
      const calls = Array.from({ length: CALLS }, (_, k) =>
        c.nfs(NFSPROC3_READ, new XdrWriter().opaque(fh).u64(BigInt(k * MiB)).u32(MiB), { timeoutMs: 60_000 }).then((r) => {
          assert.equal(r.u32(), 0, `READ ${name} at ${k} MiB`);
          readPostOpAttr(r);
          const count = r.u32();
          const eof = r.bool();
          const data = r.opaque(MiB);
          assert.equal(data.length, count);
          assert.equal(eof, k * MiB + count >= size);
          data.copy(out, k * MiB);
        }),
      );
      await sleep(300);
      c.sock.resume();
      await Promise.all(calls);
      assert.ok(out.equals(contents[Number(name.slice(1))]!), `${name} came back different in round ${round}`);
    }
    return out;
  } finally {
    c.close();
  }
}

/** What each batched send of planned READs (DirectSender.sendAll) was given and where it stopped. */
interface Batch {
  parts: number;
  index: number;
  left: number;
}

/** The backend with its DirectSender watched: one wrapper object, as the transport batches by sender. */
function watchSends(backend: Backend, batches: Batch[]): Backend {
  const plan = backend.readDirect!.bind(backend);
  let watched: DirectSender | undefined;
  backend.readDirect = (cred, handle, offset, count) => {
    const read = plan(cred, handle, offset, count);
    if (!read) return read;
    const inner = read.sender;
    watched ??= {
      sendAll: async (fd, parts) => {
        const r = await inner.sendAll(fd, parts);
        batches.push({ parts: parts.length, ...r });
        return r;
      },
    };
    return { ...read, sender: watched };
  };
  return backend;
}

async function fill(t: import('node:test').TestContext, kind: 'posix' | 'memory', batches: Batch[]): Promise<Backend> {
  if (kind === 'posix') {
    const dir = await mkdtemp(join(tmpdir(), 'cairn-readpool-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    for (let i = 0; i < CLIENTS; i++) await writeFile(join(dir, `f${i}`), contents[i]!);
    return watchSends(await openPosixBackend(dir), batches);
  }
  return new MemoryBackend();
}

for (const kind of ['posix', 'memory'] as const) {
  test(`${kind}: eight clients pipelining 1 MiB READs through a pool of two buffers get every byte right`, async (t) => {
    const batches: Batch[] = [];
    const s = await startTestServer(t, { backend: await fill(t, kind, batches), readBuffers: 2 });
    if (kind === 'memory') {
      // Through the server, so the memory backend gets the same files.
      const c = await RpcClient.connect(s.port);
      t.after(() => c.close());
      const root = (await c.mount('/export')).fh!;
      for (let i = 0; i < CLIENTS; i++) {
        const cr = await c.nfs(NFSPROC3_CREATE, dirop(root, `f${i}`).u32(0).bool(true).u32(0o644).bool(false).bool(false).bool(false).u32(0).u32(0));
        assert.equal(cr.u32(), 0);
        assert.ok(cr.bool());
        const fh = Buffer.from(cr.opaque(64));
        for (let off = 0; off < contents[i]!.length; off += MiB) {
          const part = contents[i]!.subarray(off, off + MiB);
          const w = await c.nfs(NFSPROC3_WRITE, new XdrWriter().opaque(fh).u64(BigInt(off)).u32(part.length).u32(2).opaque(part));
          assert.equal(w.u32(), 0);
        }
      }
    }
    const got = await Promise.all(contents.map((b, i) => readAll(s.port, `f${i}`, b.length)));
    assert.equal(got.length, CLIENTS);
    if (kind === 'posix') {
      // Replies waiting behind a file send left in batches, and the full
      // sockets cut batches short: the parts not started went back in line
      // (and still arrived whole, above).
      console.log(`batched sends: ${JSON.stringify(batches)}`);
      assert.ok(batches.some((b) => b.parts > 1), 'no READ replies were sent in one batch');
      assert.ok(
        batches.some((b) => b.index < b.parts - 1),
        'no batch stopped with parts not started',
      );
    }
  });
}
