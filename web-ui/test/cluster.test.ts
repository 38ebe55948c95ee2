import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addMemberFieldErrors, clusterUnavailable, joinMessage, memberHealth, sharedStateLine, tokenValidity } from '../src/lib/cluster.js';
import { toApiError } from '../src/lib/errors.js';

const err = (status: number, code: string, message: string, fields: Array<{ path: string; message: string }> = []) => toApiError(status, { error: { code, message, fields } });

test('cluster: no glusterd or no cluster support is a sentence, other errors are not', () => {
  assert.match(clusterUnavailable(err(503, 'glusterd_unavailable', 'glusterd is not running on this appliance (Connection failed)'))!, /Gluster \(glusterd\) is not running on this appliance/);
  assert.match(clusterUnavailable(err(503, 'cluster_unavailable', 'this cairnd runs without cluster support'))!, /without cluster support/);
  assert.match(clusterUnavailable(err(500, 'internal', 'gluster: peer status failed'))!, /cannot be read from Gluster right now: Gluster: peer status failed\./);
  assert.equal(clusterUnavailable(err(403, 'forbidden', 'admin needed')), null);
  assert.equal(clusterUnavailable(err(500, 'internal', 'internal error')), null);
});

test('cluster: add-appliance errors beside the field they are about', () => {
  assert.deepEqual(addMemberFieldErrors(err(403, 'join_token_invalid', 'http://10.0.0.2:8080: the join token does not match')), {
    token: ['The appliance at http://10.0.0.2:8080 answered: the join token does not match.'],
  });
  assert.deepEqual(Object.keys(addMemberFieldErrors(err(403, 'join_token_expired', 'expired'))), ['token']);
  assert.deepEqual(Object.keys(addMemberFieldErrors(err(502, 'join_unreachable', 'cairnd at http://127.0.0.1:1 did not answer (ECONNREFUSED)'))), ['address']);
  assert.deepEqual(Object.keys(addMemberFieldErrors(err(409, 'already_in_cluster', 'in another'))), ['address']);
  // The API's own field paths win.
  assert.deepEqual(addMemberFieldErrors(err(400, 'validation_failed', 'not valid', [{ path: 'token', message: 'must NOT have fewer than 1 characters' }])), {
    token: ['Must NOT have fewer than 1 characters.'],
  });
  assert.deepEqual(addMemberFieldErrors(err(429, 'rate_limited', 'wait')), {});
});

test('cluster: join token validity in words', () => {
  const now = Date.parse('2026-11-28T23:00:00Z');
  assert.match(tokenValidity('2026-11-28T23:15:00Z', now), /^valid for 15 more minutes \(until \d\d:\d\d\)$/);
  assert.match(tokenValidity('2026-11-28T23:01:30Z', now), /^valid for 1 more minute /);
  assert.match(tokenValidity('2026-11-28T23:00:20Z', now), /^valid for less than a minute more/);
  assert.match(tokenValidity('2026-11-28T22:59:00Z', now), /^expired at \d\d:\d\d: show a new one$/);
  assert.equal(tokenValidity('soon', now), 'validity unknown');
});

test('cluster: member health', () => {
  assert.deepEqual(memberHealth({ self: true, health: 'ok', connected: true, state: 'Peer in Cluster' }), { badge: 'ok', text: 'this appliance' });
  assert.equal(memberHealth({ self: false, health: 'unreachable', connected: false, state: 'Peer in Cluster' }).badge, 'unavailable');
  assert.equal(memberHealth({ self: false, health: 'joining', connected: true, state: 'Accepted peer request' }).text, 'joining (Accepted peer request)');
});

test('cluster: join errors read as sentences about the other appliance', () => {
  assert.equal(
    joinMessage('Cairnd at http://127.0.0.1:1 did not answer (fetch failed).'),
    'No cairnd answered at http://127.0.0.1:1 (fetch failed). Check the address and that the appliance is on.',
  );
  assert.equal(
    joinMessage('Http://nas2:8080: the join token has expired: show a new one on the appliance being added.'),
    'The appliance at http://nas2:8080 answered: the join token has expired: show a new one on the appliance being added.',
  );
  assert.equal(joinMessage('Too many failed attempts.'), 'Too many failed attempts.');
});

test('cluster: the shared configuration in one sentence', () => {
  const base = { volume: 'cairn-state', revision: 12, origin: 'node2', at: '2026-11-28T23:00:00Z', error: null };
  const when = (iso: string) => `<${iso}>`;
  assert.equal(sharedStateLine(null, when), null);
  assert.equal(sharedStateLine(undefined, when), null);
  assert.equal(sharedStateLine({ ...base, phase: 'standalone' }, when), null);
  assert.deepEqual(sharedStateLine({ ...base, phase: 'synced' }, when), {
    tone: 'ok',
    text: 'Configuration shared with the cluster: revision 12, written by node2 at <2026-11-28T23:00:00Z>.',
  });
  assert.equal(sharedStateLine({ ...base, phase: 'waiting' }, when)!.tone, 'info');
  assert.deepEqual(sharedStateLine({ ...base, phase: 'error', error: 'Transport endpoint is not connected' }, when), {
    tone: 'warn',
    text: 'The shared configuration (volume cairn-state) cannot be read or written here: Transport endpoint is not connected.',
  });
});
