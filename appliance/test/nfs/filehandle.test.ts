import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { HandleCodec, loadHandleSecret, FH_HEADER, NFS3_FHSIZE } from '../../src/nfs/backend/filehandle.js';
import { MAX_BACKEND_HANDLE } from '../../src/nfs/backend/backend.js';

const badhandle = { code: 'EBADHANDLE' };

test('file handles: round trip, at most 64 bytes, bound to their export id', () => {
  const codec = new HandleCodec(randomBytes(32));
  const inner = randomBytes(MAX_BACKEND_HANDLE);
  const fh = codec.encode(42, inner);
  assert.ok(fh.length <= NFS3_FHSIZE);
  assert.deepEqual(codec.decode(fh), { exportId: 42, backend: inner });
  // Moving a handle to another export id breaks its MAC.
  const moved = Buffer.from(fh);
  moved.writeUInt32BE(43, 2);
  assert.throws(() => codec.decode(moved), badhandle);
  assert.throws(() => codec.encode(1, randomBytes(MAX_BACKEND_HANDLE + 1)));
});

test('file handles: forged, truncated, extended, foreign and garbage handles are BADHANDLE', () => {
  const codec = new HandleCodec(randomBytes(32));
  const fh = codec.encode(1, Buffer.from('0123456789abcdef'));
  for (let i = 0; i < fh.length; i++) {
    const f = Buffer.from(fh);
    f[i]! ^= 0x01;
    assert.throws(() => codec.decode(f), badhandle, `bit flip at byte ${i}`);
  }
  assert.throws(() => codec.decode(fh.subarray(0, fh.length - 1)), badhandle);
  assert.throws(() => codec.decode(Buffer.concat([fh, Buffer.from([0])])), badhandle);
  assert.throws(() => codec.decode(fh.subarray(0, FH_HEADER - 1)), badhandle);
  assert.throws(() => codec.decode(Buffer.alloc(0)), badhandle);
  assert.throws(() => new HandleCodec(randomBytes(32)).decode(fh), badhandle, 'another server secret');
});

test('file handles: the secret persists in its file (0600), so handles survive restarts', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-fh-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'sub', 'nfs-fh.secret');
  const s1 = await loadHandleSecret(path);
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  const fh = new HandleCodec(s1).encode(5, Buffer.from('object'));
  const s2 = await loadHandleSecret(path);
  assert.deepEqual(new HandleCodec(s2).decode(fh), { exportId: 5, backend: Buffer.from('object') });
});
