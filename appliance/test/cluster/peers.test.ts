/** pool/gluster/peers.ts on XML captured from glusterd 10.3 in the lab. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkHost, parsePeers } from '../../src/pool/gluster/peers.js';
import { parseCliOutput } from '../../src/pool/gluster/xml.js';

const fixture = (name: string) => readFile(fileURLToPath(new URL(`../../../test/cluster/fixtures/${name}`, import.meta.url)), 'utf8');

test('peer status: the other members with their state', async () => {
  const peers = parsePeers(parseCliOutput(await fixture('peer-status.xml')));
  assert.deepEqual(peers, [
    { uuid: '29e7804c-d0e6-4e44-a92f-008773cb2b9d', hostname: 'node2', hostnames: ['node2'], connected: true, state: 'Peer in Cluster', self: false },
  ]);
});

test('pool list: this node is "localhost", without a state', async () => {
  const peers = parsePeers(parseCliOutput(await fixture('pool-list.xml')));
  assert.equal(peers.length, 2);
  assert.deepEqual(peers[1], { uuid: '20bdb2a3-adf4-4e31-8138-3748af406413', hostname: 'localhost', hostnames: ['localhost'], connected: true, state: '', self: true });
});

test('a failed probe is a GLUSTER_FAILED with glusterd\'s reason', async () => {
  const xml = await fixture('peer-probe-unknown.xml');
  assert.throws(() => parseCliOutput(xml, 'peer probe node9'), { code: 'GLUSTER_FAILED', message: /Transport endpoint is not connected/ });
});

test('host names: names and addresses pass, options and junk do not', () => {
  for (const ok of ['node1', 'a.example.org', '10.0.0.1', 'fe80::1']) checkHost(ok);
  for (const bad of ['-x', '', 'a b', 'node1;rm', '--force', 'a/b']) assert.throws(() => checkHost(bad), { code: 'INVALID_ARGUMENT' }, bad);
});
