/** The appliance's TLS identity and the pin in join tokens (cluster/tls.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureTlsIdentity, joinTokenWithPin, pinMatches, pinOf, splitJoinToken } from '../../src/cluster/tls.js';

const run = promisify(execFile);

test('a self-signed certificate is made once (openssl), its key private, its pin the SHA-256 prefix openssl reports', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-tls-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const id = await ensureTlsIdentity(join(dir, 'tls'), 'nas-b');
  assert.equal((await stat(join(dir, 'tls', 'key.pem'))).mode & 0o777, 0o600);
  const again = await ensureTlsIdentity(join(dir, 'tls'), 'nas-b');
  assert.equal(again.pin, id.pin, 'kept across starts');
  const x = new X509Certificate(id.cert);
  assert.match(x.subject, /CN=nas-b/);
  assert.match(x.subjectAltName ?? '', /DNS:nas-b/);
  const { stdout } = await run('openssl', ['x509', '-in', join(dir, 'tls', 'cert.pem'), '-noout', '-fingerprint', '-sha256']);
  const hex = stdout.split('=')[1]!.trim().replace(/:/g, '').toLowerCase();
  assert.equal(hex, id.sha256);
  assert.ok(pinMatches(x.raw, id.pin));
  assert.ok(pinMatches(x.raw, id.pin.toLowerCase().replace(/-/g, ' ')), 'case and separators do not matter');
  assert.ok(!pinMatches(x.raw, pinOf(Buffer.from('another certificate'))));
  assert.equal(id.pin.replace(/-/g, '').length, 26, '128 bits in base32');
});

test('join tokens: SECRET.PIN splits back; a token without a pin is the secret alone', () => {
  assert.deepEqual(splitJoinToken(joinTokenWithPin('ABCD-EFGH', 'WXYZ-2345')), { secret: 'ABCD-EFGH', pin: 'WXYZ-2345' });
  assert.deepEqual(splitJoinToken(' ABCD-EFGH '), { secret: 'ABCD-EFGH' });
});
