import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generate, validNetwork } from '../../src/smb/generate.js';
import { sambaPaths } from '../../src/smb/paths.js';
import { renderSmbConf } from '../../src/smb/render.js';
import { desired, share, user } from './fixtures.js';

const paths = sambaPaths('/var/lib/cairn/samba');

test('global: SMB2 minimum, no guests, no printing, every private path under the data dir', () => {
  const { model, problems } = generate(desired(445, [share('docs', '/pool/docs')]), paths);
  assert.deepEqual(problems, []);
  const g = model.global;
  assert.equal(g['server min protocol'], 'SMB2_10');
  assert.equal(g['map to guest'], 'never');
  assert.equal(g['restrict anonymous'], '2');
  assert.equal(g['passdb backend'], 'tdbsam');
  assert.equal(g['smb ports'], '445');
  assert.equal(g['disable netbios'], 'yes');
  assert.equal(g['load printers'], 'no');
  assert.equal(g['disable spoolss'], 'yes');
  assert.equal(g['interfaces'], '127.0.0.1');
  assert.equal(g['bind interfaces only'], 'yes');
  for (const k of ['private dir', 'lock directory', 'state directory', 'cache directory', 'pid directory', 'ncalrpc dir', 'binddns dir', 'log file']) {
    assert.ok(g[k]!.startsWith('/var/lib/cairn/samba/'), `${k} = ${g[k]}`);
  }
  assert.equal(g['fruit:aapl'], undefined, 'no fruit globals without a macOS share');
  assert.equal(g['multicast dns register'], 'no');
  const d = desired(445, []);
  d.server.mdns = true;
  assert.equal(generate(d, paths).model.global['multicast dns register'], 'yes');
});

test('a guest share turns on bad-user mapping, and only then', () => {
  const { model } = generate(desired(445, [share('pub', '/pool/pub', { guestOk: true }), share('docs', '/pool/docs')]), paths);
  assert.equal(model.global['map to guest'], 'bad user');
  assert.equal(model.shares.pub!['guest ok'], 'yes');
  assert.equal(model.shares.docs!['guest ok'], 'no');
});

test('share basics: path, access, users and +groups, hosts allow with deny-all', () => {
  const s = share('Documents', '/pool/docs', {
    comment: 'Office documents',
    readOnly: true,
    browseable: false,
    validUsers: ['alice', 'bob'],
    validGroups: ['staff'],
    hostsAllow: ['192.168.1.0/24', '10.0.0.7', 'fd00::/8'],
  });
  const { model, problems } = generate(desired(445, [s]), paths);
  assert.deepEqual(problems, []);
  const sec = model.shares.Documents!;
  assert.equal(sec.path, '/pool/docs');
  assert.equal(sec.comment, 'Office documents');
  assert.equal(sec['read only'], 'yes');
  assert.equal(sec.browseable, 'no');
  assert.equal(sec['valid users'], 'alice bob +staff');
  assert.equal(sec['hosts allow'], '192.168.1.0/24 10.0.0.7 fd00::/8');
  assert.equal(sec['hosts deny'], 'ALL');
  assert.equal(sec['vfs objects'], 'streams_xattr');
  assert.equal(sec['case sensitive'], 'auto');
  assert.equal(sec['preserve case'], 'yes');
  assert.equal(sec['mangled names'], 'illegal');
  assert.equal(sec['server smb encrypt'], undefined);
});

test('no valid users key at all when the share is open to every authenticated user', () => {
  const { model } = generate(desired(445, [share('docs', '/pool/docs')]), paths);
  assert.equal(model.shares.docs!['valid users'], undefined);
  assert.equal(model.shares.docs!['hosts allow'], undefined);
});

test('recycle bin: per-user repository, keeptree, versions, temp files excluded; not on read-only shares', () => {
  const { model } = generate(
    desired(445, [
      share('docs', '/pool/docs', { recycleBin: { enabled: true, exclude: ['*.bak'] } }),
      share('ro', '/pool/ro', { readOnly: true, recycleBin: { enabled: true } }),
    ]),
    paths,
  );
  const sec = model.shares.docs!;
  assert.equal(sec['vfs objects'], 'streams_xattr recycle');
  assert.equal(sec['recycle:repository'], '.recycle/%U');
  assert.equal(sec['recycle:keeptree'], 'yes');
  assert.equal(sec['recycle:versions'], 'yes');
  assert.equal(sec['recycle:directory_mode'], '1777');
  assert.equal(sec['recycle:subdir_mode'], '0700');
  const ex = sec['recycle:exclude']!.split(' ');
  for (const p of ['*.tmp', '~$*', '*.bak']) assert.ok(ex.includes(p), p);
  assert.equal(model.shares.ro!['vfs objects'], 'streams_xattr');
  assert.equal(model.shares.ro!['recycle:repository'], undefined);
});

test('macOS: catia, fruit, streams_xattr in that order, fruit globals, Time Machine as an option', () => {
  const { model, problems } = generate(
    desired(445, [
      share('mac', '/pool/mac', { macos: { enabled: true } }),
      share('tm', '/pool/tm', { macos: { enabled: true, timeMachine: true, timeMachineMaxSize: '2T' }, recycleBin: { enabled: true } }),
    ]),
    paths,
  );
  assert.deepEqual(problems, []);
  assert.equal(model.global['fruit:aapl'], 'yes');
  assert.equal(model.shares.mac!['vfs objects'], 'catia fruit streams_xattr');
  assert.equal(model.shares.mac!['fruit:metadata'], 'stream');
  assert.equal(model.shares.mac!['fruit:time machine'], undefined);
  assert.equal(model.shares.tm!['vfs objects'], 'catia fruit streams_xattr recycle');
  assert.equal(model.shares.tm!['fruit:time machine'], 'yes');
  assert.equal(model.shares.tm!['fruit:time machine max size'], '2T');
});

test('SMB3 encryption as an option: required, desired, …; Samba\'s default when absent', () => {
  const { model, problems } = generate(
    desired(445, [share('sec', '/pool/sec', { encryption: 'required' }), share('opt', '/pool/opt', { encryption: 'desired' }), share('bad', '/pool/b', { encryption: 'always' as 'required' })]),
    paths,
  );
  assert.equal(model.shares.sec!['server smb encrypt'], 'required');
  assert.equal(model.shares.opt!['server smb encrypt'], 'desired');
  assert.deepEqual(problems.map((p) => p.path), ['shares.2.encryption']);
});

test('Gluster volume: vfs_glusterfs last, volume, volfile servers, path inside the volume, no kernel share modes', () => {
  const s = share('vol', '/', {
    backend: { kind: 'gluster', volume: 'gv0', volfileServers: ['node1', 'node2:24007'], path: '/projects' },
    macos: { enabled: true },
    recycleBin: { enabled: true },
  });
  const { model, problems } = generate(desired(445, [s]), paths);
  assert.deepEqual(problems, []);
  const sec = model.shares.vol!;
  assert.equal(sec.path, '/projects');
  assert.equal(sec['vfs objects'], 'catia fruit streams_xattr recycle glusterfs');
  assert.equal(sec['glusterfs:volume'], 'gv0');
  assert.equal(sec['glusterfs:volfile_server'], 'node1 node2:24007');
  assert.ok(sec['glusterfs:logfile']!.startsWith('/var/lib/cairn/samba/log/'));
  assert.equal(sec['kernel share modes'], 'no');
  assert.equal(sec['kernel oplocks'], 'no');
});

test('extra options come last and can override', () => {
  const { model } = generate(desired(445, [share('x', '/pool/x', { extraOptions: { 'Strict Sync': 'no', 'read only': 'yes' } })]), paths);
  const keys = Object.keys(model.shares.x!);
  assert.equal(keys.at(-1), 'strict sync');
  assert.equal(model.shares.x!['read only'], 'yes');
});

test('bad shares are left out with dotted-path problems; good ones stay', () => {
  const { model, problems } = generate(
    desired(445, [
      share('good', '/pool/good'),
      share('bad]name', '/pool/a'),
      share('global', '/pool/b'),
      share('GOOD', '/pool/c'),
      share('rel', 'pool/rel'),
      share('nl', '/pool/x\n[evil]'),
      share('users', '/pool/u', { validUsers: ['alice, bob'] }),
      share('hosts', '/pool/h', { hostsAllow: ['10.0.0.0/33'] }),
      share('hosts2', '/pool/h', { hostsAllow: ['foo'] }),
      share('opt', '/pool/o', { extraOptions: { 'vfs objects': 'x\n[evil]' } }),
      share('bin', '/pool/r', { recycleBin: { enabled: true, exclude: ['a b'] } }),
    ]),
    paths,
  );
  assert.deepEqual(Object.keys(model.shares), ['good']);
  const at = problems.map((p) => p.path);
  assert.deepEqual(at, [
    'shares.1.name',
    'shares.2.name',
    'shares.3.name',
    'shares.4.backend.path',
    'shares.5.backend.path',
    'shares.6.validUsers.0',
    'shares.7.hostsAllow.0',
    'shares.8.hostsAllow.0',
    'shares.9.extraOptions.vfs objects',
    'shares.10.recycleBin.exclude.0',
  ]);
  assert.ok(!renderSmbConf(model).includes('evil'));
});

test('bad users are left out; their hash never appears in a problem', () => {
  const bad = user('carol', 1003, 'pw', { ntHash: 'zz' });
  const { users, problems } = generate(
    desired(445, [], [user('alice', 1001, 'a'), user('Bob Smith', 1002, 'b'), bad, user('root', 1004, 'r'), user('dave', 5, 'd'), user('eve', 1001, 'e')]),
    paths,
  );
  assert.deepEqual(
    users.map((u) => u.name),
    ['alice'],
  );
  assert.deepEqual(
    problems.map((p) => p.path),
    ['users.1.name', 'users.2.ntHash', 'users.3.name', 'users.4.uid', 'users.4.gid', 'users.5.uid'],
  );
  const good = user('alice', 1001, 'a').ntHash;
  assert.ok(!JSON.stringify(problems).includes(good));
});

test('a bad server section renders nothing (the old config stays)', () => {
  const d = desired(70000, [share('docs', '/pool/docs')]);
  d.server.netbiosName = 'THIS-NAME-IS-FAR-TOO-LONG';
  const { model, problems } = generate(d, paths);
  assert.deepEqual(model, { global: {}, shares: {} });
  assert.deepEqual(
    problems.map((p) => p.path),
    ['server.netbiosName', 'server.port'],
  );
});

test('validNetwork', () => {
  for (const ok of ['10.0.0.0/8', '192.168.1.5', '::1', 'fd00::/8', '0.0.0.0/0']) assert.ok(validNetwork(ok), ok);
  for (const bad of ['10.0.0.0/33', '10.0.0/8', 'host', '10.0.0.0/8/8', 'fd00::/129', '10.0.0.0/', '']) assert.ok(!validNetwork(bad), bad);
});

test('render: [global] first, one section per share, tab-indented key = value', () => {
  const { model } = generate(desired(4455, [share('a', '/p/a'), share('b', '/p/b')]), paths);
  const text = renderSmbConf(model);
  const sections = [...text.matchAll(/^\[(.+)\]$/gm)].map((m) => m[1]);
  assert.deepEqual(sections, ['global', 'a', 'b']);
  assert.match(text, /^\tsmb ports = 4455$/m);
  assert.match(text, /^\tpath = \/p\/b$/m);
});

test('clustered (CTDB): clustering, ctdbd socket, a shared idmap range; standalone output has none of it', () => {
  const standalone = generate(desired(445, [share('docs', '/pool/docs')]), paths).model;
  for (const k of Object.keys(standalone.global)) assert.ok(!/clustering|ctdb|idmap/.test(k), k);
  assert.ok(!standalone.shares.docs!['vfs objects']!.includes('fileid'));

  const d = desired(445, [share('docs', '/mnt/gv/docs'), share('gv', '/', { backend: { kind: 'gluster', volume: 'gv', volfileServers: ['localhost'], path: '/' } })], [user('alice', 10001, 'pw')]);
  d.server.cluster = { ctdbdSocket: '/run/ctdb/ctdbd.socket' };
  const { model, problems } = generate(d, paths);
  assert.deepEqual(problems, []);
  assert.equal(model.global.clustering, 'yes');
  assert.equal(model.global['ctdbd socket'], '/run/ctdb/ctdbd.socket');
  assert.equal(model.global['idmap config * : backend'], 'tdb');
  assert.equal(model.global['idmap config * : range'], '2000000000-2099999999');
  assert.equal(model.global['netbios name'], 'CAIRNTEST');
  // A FUSE-path share gets vfs_fileid (device numbers differ between nodes); vfs_glusterfs shares do not.
  assert.equal(model.shares.docs!['vfs objects'], 'fileid streams_xattr');
  assert.equal(model.shares.docs!['fileid:algorithm'], 'fsname');
  assert.equal(model.shares.gv!['vfs objects'], 'streams_xattr glusterfs');
  assert.equal(model.shares.gv!['fileid:algorithm'], undefined);
});

test('clustered: accounts inside the idmap range are refused; a bad ctdbd socket renders nothing', () => {
  const d = desired(445, [share('docs', '/mnt/gv/docs')], [user('alice', 10001, 'pw'), user('bob', 2_000_000_001, 'pw')]);
  d.groups = [{ name: 'staff', gid: 2_050_000_000, members: ['alice'] }];
  d.server.cluster = { ctdbdSocket: '/run/ctdb/ctdbd.socket' };
  const { users, groups, problems } = generate(d, paths);
  assert.deepEqual(users.map((u) => u.name), ['alice']);
  assert.deepEqual(groups, []);
  assert.deepEqual(problems.map((p) => p.path).sort(), ['groups.0.gid', 'users.1.uid']);

  d.server.cluster = { ctdbdSocket: 'relative/ctdbd.socket' };
  const bad = generate(d, paths);
  assert.deepEqual(bad.model.global, {});
  assert.ok(bad.problems.some((p) => p.path === 'server.cluster.ctdbdSocket'));
});
