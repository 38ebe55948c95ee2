import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressLines, clusterSmbFieldErrors, ctdbNodeHealth, formatPublicAddresses, lockLine, netbiosNameError, parsePublicAddresses } from '../src/lib/cluster-smb.js';
import { toApiError } from '../src/lib/errors.js';

test('cluster SMB: public addresses one a line as ADDRESS/PREFIX@INTERFACE, blank lines ignored, round trip', () => {
  const text = '192.168.1.50/24@eth0\n\n  fd00::50/64@eth0,eth1  \n';
  const p = parsePublicAddresses(text);
  assert.deepEqual(p, {
    addresses: [
      { address: '192.168.1.50', prefix: 24, interfaces: ['eth0'] },
      { address: 'fd00::50', prefix: 64, interfaces: ['eth0', 'eth1'] },
    ],
    errors: [],
  });
  assert.equal(formatPublicAddresses(p.addresses), '192.168.1.50/24@eth0\nfd00::50/64@eth0,eth1');
});

test('cluster SMB: each bad line named by its number; nothing to send while any is bad', () => {
  const p = parsePublicAddresses('10.0.0.1/24@eth0\n10.0.0.300/24@eth0\n10.0.0.2@eth0\n10.0.0.3/33@eth0\nfd00::1/129@eth0\n10.0.0.4/24@bad/name');
  assert.deepEqual(p.addresses, []);
  assert.deepEqual(p.errors, [
    'Line 2: 10.0.0.300 is not an IPv4 or IPv6 address.',
    'Line 3: "10.0.0.2@eth0" is not ADDRESS/PREFIX@INTERFACE (e.g. 192.168.1.50/24@eth0).',
    'Line 4: the prefix /33 must be 1 to 32.',
    'Line 5: the prefix /129 must be 1 to 128.',
    'Line 6: "bad/name" is not an interface name (letters, digits, _ . -, at most 15).',
  ]);
  assert.deepEqual(parsePublicAddresses('10.0.0.1/24@eth0,way-too-long-name0').errors, ['Line 1: "way-too-long-name0" is not an interface name (letters, digits, _ . -, at most 15).']);
  assert.deepEqual(parsePublicAddresses(' \n').errors, ['Clustered SMB needs at least one public address for clients.']);
});

test('cluster SMB: NetBIOS names', () => {
  assert.equal(netbiosNameError('CAIRN-1'), null);
  assert.match(netbiosNameError('-x')!, /1 to 15 letters/);
  assert.match(netbiosNameError('ABCDEFGHIJKLMNOP')!, /1 to 15/);
});

test('cluster SMB: API field errors beside the text field, by the line they came from', () => {
  const text = '10.0.0.1/24@eth0\n\n10.0.0.2/24@eth0\n10.0.0.1/24@eth1';
  const e = toApiError(400, {
    error: {
      code: 'validation_failed',
      message: 'not valid',
      fields: [
        { path: 'publicAddresses.2.address', message: 'address "10.0.0.1" is already used by publicAddresses.0' },
        { path: 'netbiosName', message: 'must match pattern' },
        { path: 'publicAddresses', message: 'clustered SMB needs at least one public address' },
      ],
    },
  });
  assert.deepEqual(addressLines(text), [1, 3, 4]);
  assert.deepEqual(clusterSmbFieldErrors(e, addressLines(text)), {
    publicAddresses: ['Line 4: Address "10.0.0.1" is already used by line 1.', 'Clustered SMB needs at least one public address.'],
    netbiosName: ['Must match pattern.'],
  });
});

test('cluster SMB: CTDB node health and the lock line', () => {
  assert.deepEqual(ctdbNodeHealth('ok').badge, 'ok');
  assert.deepEqual(ctdbNodeHealth('disconnected').badge, 'down');
  assert.deepEqual(ctdbNodeHealth('unhealthy').badge, 'degraded');
  assert.match(ctdbNodeHealth('banned').text, /banned/);
  assert.deepEqual(lockLine({ volume: 'cairn-state', mounted: false, file: null }), { warn: true, text: 'The lock volume (Gluster volume cairn-state) is not mounted here: CTDB waits for it.' });
  assert.equal(lockLine({ volume: 'cairn-state', mounted: true, file: '/d/cluster/state/.ctdb-cluster-lock' }).text, "Lock volume: Gluster volume cairn-state, mounted; CTDB's cluster lock is /d/cluster/state/.ctdb-cluster-lock.");
});
