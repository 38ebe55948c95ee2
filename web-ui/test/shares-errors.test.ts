import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nfsMountCommand, smbUrl, splitList, uncPath } from '../src/lib/shares.js';
import { ApiError, describe, toApiError } from '../src/lib/errors.js';
import { bytes, count, duration } from '../src/lib/format.js';

test('mount command and UNC path', () => {
  assert.equal(nfsMountCommand('nas', '/media'), 'mount -t nfs -o vers=3 nas:/media /mnt');
  assert.equal(nfsMountCommand('nas', 'media', { port: 2049 }), 'mount -t nfs -o vers=3 nas:/media /mnt');
  assert.equal(nfsMountCommand('fd00::1', '/vm', { port: 20490 }), 'mount -t nfs -o vers=3,proto=tcp,port=20490,mountport=20490 [fd00::1]:/vm /mnt');
  assert.equal(uncPath('nas', 'projects'), '\\\\nas\\projects');
  assert.equal(smbUrl('nas', 'my docs'), 'smb://nas/my%20docs');
  assert.deepEqual(splitList(' 10.0.0.0/8,\n\n192.168.1.0/24 , '), ['10.0.0.0/8', '192.168.1.0/24']);
});

test('API errors become sentences with field messages by normalised path', () => {
  const e = toApiError(400, { error: { code: 'VALIDATION', message: 'invalid share', fields: [{ path: '/nfs/clients/1', message: 'must be a CIDR' }] } });
  assert.ok(e instanceof ApiError);
  assert.equal(e.message, 'Invalid share.');
  assert.equal(e.code, 'VALIDATION');
  assert.deepEqual(e.fields, { 'nfs.clients.1': ['Must be a CIDR.'] });
  assert.equal(toApiError(401, {}).message, 'You are not signed in, or your session has ended. Sign in again.');
  assert.equal(toApiError(400, { statusCode: 400, error: 'Bad Request', message: "body/name must match pattern" }).message, 'The request was not accepted.');
  assert.equal(toApiError(418, 'teapot').message, 'The appliance answered with status 418.');
  assert.equal(describe(new TypeError('Failed to fetch')), 'The appliance does not answer. Check that it is running and reachable.');
});

test('formatting', () => {
  assert.equal(bytes(0), '0 B');
  assert.equal(bytes(1536), '1.50 KiB');
  assert.equal(bytes(10 * 1024 ** 3), '10.0 GiB');
  assert.equal(bytes(undefined), '—');
  assert.equal(count(1234), '1.2k');
  assert.equal(count(2.25), '2.3');
  assert.equal(duration(90061), '1d 1h');
  assert.equal(duration(65), '1m 5s');
});
