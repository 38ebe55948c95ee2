import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBackend } from '../../src/nfs/backend/memory/index.js';
import { Export, ExportTable, exportIdOf, normalizeExportPath, squash } from '../../src/nfs/exports.js';

const backend = new MemoryBackend();
const sys = (uid: number, gid = uid, gids: number[] = []) => ({ flavor: 'sys' as const, uid, gid, gids, machine: 'm' });

test('exports: IPs, CIDRs (v4, v6, v4-mapped) and * match; the first matching rule applies', () => {
  const e = new Export({
    path: '/data/',
    backend,
    clients: [
      { match: '10.1.2.3', readOnly: false },
      { match: '10.0.0.0/8', readOnly: true },
      { match: 'fd00::/8' },
    ],
  });
  assert.equal(e.path, '/data');
  assert.equal(e.ruleFor({ address: '10.1.2.3', port: 900 })?.readOnly, false);
  assert.equal(e.ruleFor({ address: '::ffff:10.9.9.9', port: 900 })?.readOnly, true);
  assert.ok(e.ruleFor({ address: 'fd12::1', port: 900 }));
  assert.equal(e.ruleFor({ address: '192.168.1.1', port: 900 }), undefined);
  assert.equal(e.ruleFor({ address: '::1', port: 900 }), undefined);
  const any = new Export({ path: '/x', backend, clients: [{ match: '*' }] });
  assert.ok(any.ruleFor({ address: '203.0.113.5', port: 40000 }));
  const none = new Export({ path: '/y', backend, clients: [] });
  assert.equal(none.ruleFor({ address: '127.0.0.1', port: 1 }), undefined);
});

test('exports: secure refuses source ports >= 1024', () => {
  const e = new Export({ path: '/s', backend, clients: [{ match: '*', secure: true }] });
  assert.ok(e.ruleFor({ address: '127.0.0.1', port: 1023 }));
  assert.equal(e.ruleFor({ address: '127.0.0.1', port: 1024 }), undefined);
});

test('exports: bad client specs and paths are refused', () => {
  assert.throws(() => new Export({ path: '/a', backend, clients: [{ match: 'host.example' }] }), /not \*/);
  assert.throws(() => new Export({ path: '/a', backend, clients: [{ match: '10.0.0.0/33' }] }), /prefix/);
  assert.throws(() => new Export({ path: '/a', backend, clients: [{ match: '10.0.0.0/x' }] }), /prefix/);
  assert.throws(() => normalizeExportPath('/a/../b'), /\.\./);
  assert.throws(() => new ExportTable([{ path: '/a', backend, clients: [] }, { path: '/a/', backend, clients: [] }]), /twice/);
});

test('exports: root_squash, all_squash, no_root_squash and AUTH_NONE', () => {
  const rule = (squashMode: 'root_squash' | 'all_squash' | 'no_root_squash') =>
    new Export({ path: '/q', backend, clients: [{ match: '*', squash: squashMode, anonUid: 99, anonGid: 98 }] }).ruleFor({ address: '1.1.1.1', port: 1 })!;
  assert.deepEqual(squash(rule('root_squash'), sys(0, 0, [0, 5])), { uid: 99, gid: 98, gids: [5] });
  assert.deepEqual(squash(rule('root_squash'), sys(1000, 100, [5])), { uid: 1000, gid: 100, gids: [5] });
  assert.deepEqual(squash(rule('all_squash'), sys(1000)), { uid: 99, gid: 98, gids: [] });
  assert.deepEqual(squash(rule('no_root_squash'), sys(0)), { uid: 0, gid: 0, gids: [] });
  assert.deepEqual(squash(rule('no_root_squash'), { flavor: 'none', uid: 65534, gid: 65534, gids: [], machine: '' }), { uid: 99, gid: 98, gids: [] });
});

test('exports: ids are stable functions of the path', () => {
  assert.equal(new Export({ path: '/a', backend, clients: [] }).id, exportIdOf('/a'));
  assert.notEqual(exportIdOf('/a'), exportIdOf('/b'));
  assert.equal(new Export({ path: '/a', backend, clients: [], id: 7 }).id, 7);
});
