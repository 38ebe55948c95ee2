import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../src/state/atomic.js';

test('writeFileAtomic replaces a file whole, with exactly the mode asked whatever the umask, and leaves no temp file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-atomic-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'smb.conf');
  const old = process.umask(0o077);
  try {
    await writeFileAtomic(file, 'first\n', 0o644);
    assert.equal((await stat(file)).mode & 0o777, 0o644, 'smbd and testparm read it as other users');
    await writeFileAtomic(file, Buffer.from('second\n'), 0o600);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
  } finally {
    process.umask(old);
  }
  assert.equal(await readFile(file, 'utf8'), 'second\n');
  assert.deepEqual(await readdir(dir), ['smb.conf']);
  await assert.rejects(writeFileAtomic(join(dir, 'missing', 'x'), 'y'), { code: 'ENOENT' });
  assert.deepEqual(await readdir(dir), ['smb.conf']);
});
