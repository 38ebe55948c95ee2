import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diff, expand, fromJsonPatch, nameIndexes, pointerToDotted, preview, summarize } from '../src/lib/diff.js';

test('objects: added, removed and replaced leaves with dotted paths', () => {
  const a = { settings: { hostname: 'cairn', ntp: true }, old: 1 };
  const b = { settings: { hostname: 'nas', ntp: true, tz: 'UTC' } };
  assert.deepEqual(diff(a, b), [
    { op: 'replace', path: 'settings.hostname', before: 'cairn', after: 'nas' },
    { op: 'add', path: 'settings.tz', after: 'UTC' },
    { op: 'remove', path: 'old', before: 1 },
  ]);
  assert.deepEqual(diff(a, structuredClone(a)), []);
});

test('arrays of named objects are matched by name, not position', () => {
  const a = { shares: [{ name: 'a', ro: false }, { name: 'b', ro: false }] };
  const b = { shares: [{ name: 'b', ro: true }, { name: 'c', ro: false }] };
  assert.deepEqual(diff(a, b), [
    { op: 'remove', path: 'shares.a', before: { name: 'a', ro: false } },
    { op: 'replace', path: 'shares.b.ro', before: false, after: true },
    { op: 'add', path: 'shares.c', after: { name: 'c', ro: false } },
  ]);
});

test('scalar lists show values removed and added', () => {
  assert.deepEqual(diff({ c: ['10.0.0.0/8', '192.168.0.0/16'] }, { c: ['192.168.0.0/16', '172.16.0.0/12'] }), [
    { op: 'remove', path: 'c.[]', before: '10.0.0.0/8' },
    { op: 'add', path: 'c.[]', after: '172.16.0.0/12' },
  ]);
});

test('JSON Patch renders the same way; pointers unescape', () => {
  assert.equal(pointerToDotted('/a~1b/c~0d/0'), 'a/b.c~d.0');
  const ch = fromJsonPatch([
    { op: 'replace', path: '/settings/hostname', value: 'nas', oldValue: 'cairn' },
    { op: 'add', path: '/shares/1', value: { name: 'x' } },
    { op: 'test', path: '/x', value: 1 },
  ]);
  assert.deepEqual(ch, [
    { op: 'replace', path: 'settings.hostname', before: 'cairn', after: 'nas' },
    { op: 'add', path: 'shares.1', after: { name: 'x' } },
  ]);
  assert.deepEqual(summarize(ch), { add: 1, remove: 0, replace: 1 });
});

test('preview hides secrets and shortens long values', () => {
  assert.equal(preview('x', 'users.admin.passwordHash'), '••••••');
  assert.equal(preview({ name: 'a', token: 'abc' }), '{"name":"a","token":"••••••"}');
  assert.equal(preview('a'.repeat(200)).length, 80);
});

test('expand turns an added object into one row per field, capped', () => {
  const rows = expand([{ op: 'add', path: 'shares.2', after: { name: 'media', nfs: { enabled: true, clients: [{ match: '*' }] }, tags: ['a', 'b'] } }]);
  assert.deepEqual(rows, [
    { op: 'add', path: 'shares.2.name', after: 'media' },
    { op: 'add', path: 'shares.2.nfs.enabled', after: true },
    { op: 'add', path: 'shares.2.nfs.clients.0.match', after: '*' },
    { op: 'add', path: 'shares.2.tags', after: ['a', 'b'] },
  ]);
  const big = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, i]));
  const capped = expand([{ op: 'remove', path: 'x', before: big }], 3);
  assert.equal(capped.length, 4);
  assert.deepEqual(capped[3], { op: 'remove', path: 'x.…', before: '(more fields)' });
  assert.deepEqual(expand([{ op: 'replace', path: 'a', before: 1, after: 2 }]), [{ op: 'replace', path: 'a', before: 1, after: 2 }]);
});

test('nameIndexes names array elements by their name or id', () => {
  const doc = { shares: [{ name: 'projects' }, { name: 'vm', nfs: { clients: [{ match: '*' }] } }], pools: [{ id: 'local' }] };
  assert.equal(nameIndexes('shares.1.nfs.clients.0.match', doc), 'shares[vm].nfs.clients.0.match');
  assert.equal(nameIndexes('pools.0', doc), 'pools[local]');
  assert.equal(nameIndexes('shares.7.name', doc), 'shares.7.name', 'unknown index stays a number');
  assert.equal(nameIndexes('settings.applianceName', doc), 'settings.applianceName');
});
