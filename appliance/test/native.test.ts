import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPosixRoot, sdNotify } from '@cairn/native';
import { NotifySocket } from './helpers/notify-socket.js';

test('sdNotify is a no-op without NOTIFY_SOCKET', () => {
  const saved = process.env.NOTIFY_SOCKET;
  delete process.env.NOTIFY_SOCKET;
  try {
    assert.equal(sdNotify('READY=1'), false);
  } finally {
    if (saved !== undefined) process.env.NOTIFY_SOCKET = saved;
  }
});

for (const kind of ['path', 'abstract'] as const) {
  test(`sdNotify sends to a ${kind} socket`, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'cairn-notify-'));
    const address = kind === 'path' ? join(dir, 'notify') : `@cairn-test-${process.pid}-${Date.now()}`;
    const sock = await NotifySocket.listen(address);
    const saved = process.env.NOTIFY_SOCKET;
    t.after(async () => {
      sock.close();
      if (saved === undefined) delete process.env.NOTIFY_SOCKET;
      else process.env.NOTIFY_SOCKET = saved;
      await rm(dir, { recursive: true, force: true });
    });
    process.env.NOTIFY_SOCKET = address;
    assert.equal(sdNotify('READY=1\nSTATUS=testing'), true);
    assert.equal(await sock.waitFor('READY=1'), 'READY=1\nSTATUS=testing');
  });
}

test('sdNotify to a missing socket throws with the errno name as code', (t) => {
  const saved = process.env.NOTIFY_SOCKET;
  t.after(() => {
    if (saved === undefined) delete process.env.NOTIFY_SOCKET;
    else process.env.NOTIFY_SOCKET = saved;
  });
  process.env.NOTIFY_SOCKET = '/nonexistent/cairn/notify';
  assert.throws(() => sdNotify('READY=1'), (e: NodeJS.ErrnoException) => e.code === 'ENOENT' && /sendto/.test(e.message));
});

test('posix handles: stable across rename, stale after delete, errors carry errno names', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-handles-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'a.txt'), 'hello');
  const root = await openPosixRoot(dir);
  assert.equal(root.path, dir);

  const h = await root.handleOf('a.txt');
  assert.ok(Buffer.isBuffer(h) && h.length > 4);
  await rename(join(dir, 'a.txt'), join(dir, 'b.txt'));
  const st = await root.statByHandle(h);
  assert.equal(st.size, 5);
  assert.equal(st.mode & 0o170000, 0o100000);
  assert.equal(typeof st.ino, 'bigint');
  assert.ok(st.mtimeSec > 1_600_000_000);

  const rootHandle = await root.handleOf('');
  assert.equal((await root.statByHandle(rootHandle)).mode & 0o170000, 0o040000);

  await rm(join(dir, 'b.txt'));
  await assert.rejects(root.statByHandle(h), { code: 'ESTALE' });
  await assert.rejects(root.handleOf('missing'), { code: 'ENOENT' });
  await assert.rejects(root.statByHandle(Buffer.from([1, 2])), { code: 'EINVAL' });
  await assert.rejects(openPosixRoot(join(dir, 'nope')), { code: 'ENOENT' });
});
