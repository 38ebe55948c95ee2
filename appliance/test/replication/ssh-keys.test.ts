/** replication/ssh-keys.ts with real ssh-keygen in a temp directory (never /root/.ssh). */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkPublicKey, RootSshKeys } from '../../src/replication/ssh-keys.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBZFP44h8g9eJHwB/JZo8awN8JNZJWVsHXG05mA2/FjY root@node1';

test('public key made on first use, the same afterwards; authorize appends once with safe modes', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-sshkeys-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const keys = new RootSshKeys(join(dir, 'ssh'));
  const pub = await keys.publicKey();
  assert.match(pub, /^ssh-ed25519 [A-Za-z0-9+/]+=* root@.+ \(cairn geo-replication\)$/);
  assert.equal(await keys.publicKey(), pub, 'not regenerated');
  assert.equal((await stat(join(dir, 'ssh', 'id_ed25519'))).mode & 0o777, 0o600);

  await writeFile(join(dir, 'ssh', 'authorized_keys'), 'command="/usr/lib/x86_64-linux-gnu/glusterfs/gsyncd" ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQCvN9VTfd9FIsO5uw416R1nURhwoOyUFPxR4G3QPGyjKx1Y');
  assert.equal(await keys.authorize(`  ${KEY}\n`), true);
  assert.equal(await keys.authorize(KEY.replace('root@node1', 'other comment')), false, 'same key, other comment: already there');
  const file = await readFile(join(dir, 'ssh', 'authorized_keys'), 'utf8');
  assert.equal(file.split('\n').filter(Boolean).length, 2, 'appended on a line of its own');
  assert.ok(file.endsWith(`${KEY}\n`));
  assert.equal((await stat(join(dir, 'ssh', 'authorized_keys'))).mode & 0o777, 0o600);
  assert.equal((await stat(join(dir, 'ssh'))).mode & 0o777, 0o700);
});

test('only a bare public key on one line is accepted', () => {
  assert.equal(checkPublicKey(`${KEY}\n`), KEY);
  assert.equal(checkPublicKey(KEY.split(' ').slice(0, 2).join(' ')), KEY.split(' ').slice(0, 2).join(' '), 'comment optional');
  for (const bad of [
    `command="sh" ${KEY}`,
    `from="*" ${KEY}`,
    `${KEY}\n${KEY}`,
    'ssh-dss AAAAB3NzaC1kc3MAAACBAP0000000000000000000000000000000 x',
    'ssh-ed25519 not*base64 x',
    '',
    'hello',
  ]) assert.throws(() => checkPublicKey(bad), { name: 'SshKeyError' }, JSON.stringify(bad));
});
