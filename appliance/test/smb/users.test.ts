import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accountFiles, md4, ntHash, parsePassdbList, planPassdb, smbpasswdLine } from '../../src/smb/users.js';
import { writeFileIfChanged } from '../../src/smb/render.js';
import { user } from './fixtures.js';

test('MD4: the RFC 1320 appendix A.5 test suite', () => {
  const vectors: Array<[string, string]> = [
    ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
    ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
    ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
    ['message digest', 'd9130a8164549fe818874806e1c7014b'],
    ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', '043f8582f241db351ce627e153e7f0e4'],
    ['12345678901234567890123456789012345678901234567890123456789012345678901234567890', 'e33b4ddc9c38f2199c3e7b164fcc0536'],
  ];
  for (const [input, hex] of vectors) assert.equal(md4(Buffer.from(input, 'ascii')).toString('hex'), hex, JSON.stringify(input));
});

test('MD4 around the padding boundaries (one and two blocks)', () => {
  // Reference values: `openssl dgst -md4 -provider legacy` of n bytes of "a".
  const known: Array<[number, string]> = [
    [55, 'c889c81dd86c4d2e025778944ea02881'],
    [56, 'd5f9a9e9257077a5f08b0b92f348b0ad'],
    [63, '7ea3da77432d44c323671097d1348fc8'],
    [64, '52f5076fabd22680234a3fa9f9dc5732'],
    [65, '330e377bf231f3cacfecc2c182fe7e5b'],
    [119, 'e65dd227ccef97fa1d34d70189120f76'],
    [120, 'b03ddbd470b47c013e0c7ab2ddd763db'],
  ];
  for (const [n, hex] of known) assert.equal(md4(Buffer.alloc(n, 0x61)).toString('hex'), hex, `${n} bytes`);
});

test('NT hash: MD4 of the UTF-16LE password, upper-case hex', () => {
  assert.equal(ntHash('password'), '8846F7EAEE8FB117AD06BDD830B7586C');
  assert.equal(ntHash(''), '31D6CFE0D16AE931B73C59D7E0C089C0');
  // Non-ASCII goes through UTF-16LE, not UTF-8.
  assert.notEqual(ntHash('pässword'), md4(Buffer.from('pässword', 'utf8')).toString('hex').toUpperCase());
});

test('account files: root and nobody, users, groups with members, private groups for stray gids', () => {
  const alice = user('alice', 1001, 'a', { gid: 2000 });
  const bob = { ...user('bob', 1002, 'b'), gid: undefined };
  const staff = { name: 'staff', gid: 2000, members: ['alice', 'bob'] };
  const bobs = { name: 'bob', gid: 3000, members: [] };
  const f = accountFiles([alice, bob], [staff, bobs]);
  assert.deepEqual(f.passwd.trim().split('\n'), [
    'root:x:0:0:root:/root:/bin/false',
    'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
    'alice:x:1001:2000:alice:/nonexistent:/usr/sbin/nologin',
    'bob:x:1002:1002:bob:/nonexistent:/usr/sbin/nologin',
  ]);
  assert.deepEqual(f.group.trim().split('\n'), ['root:x:0:', 'nogroup:x:65534:', 'staff:x:2000:alice,bob', 'bob:x:3000:', 'cairn-1002:x:1002:']);
  assert.ok(!f.passwd.includes(alice.ntHash), 'no hash in the account files');
});

test('smbpasswd import line: no LM hash, flags, LCT; disabled adds D', () => {
  const u = user('alice', 1001, 'password');
  const at = new Date(0x5f5e1000 * 1000);
  assert.equal(smbpasswdLine(u, at), `alice:1001:${'X'.repeat(32)}:8846F7EAEE8FB117AD06BDD830B7586C:[UX         ]:LCT-5F5E1000:`);
  assert.match(smbpasswdLine({ ...u, enabled: false }, at), /:\[DUX        \]:/);
});

test('passdb listing parse and plan: add, update hash, disable, uid change, remove', () => {
  const listing = [
    'alice:1001:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:8846F7EAEE8FB117AD06BDD830B7586C:[UX         ]:LCT-00000000:',
    'bob:1002:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:11111111111111111111111111111111:[UX         ]:LCT-00000000:',
    'carol:1003:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:22222222222222222222222222222222:[UX         ]:LCT-00000000:',
    'dave:1004:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:33333333333333333333333333333333:[UX         ]:LCT-00000000:',
    'eve:1005:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:44444444444444444444444444444444:[DUX        ]:LCT-00000000:',
    'some noise line',
    '',
  ].join('\n');
  const current = parsePassdbList(listing);
  assert.equal(current.length, 5);
  assert.deepEqual(current[4], { name: 'eve', uid: 1005, ntHash: '44444444444444444444444444444444', disabled: true });

  const want = [
    user('alice', 1001, 'password'), // unchanged
    { ...user('bob', 1002, 'x'), ntHash: '55555555555555555555555555555555' }, // new password
    { ...user('carol', 1003, 'x'), ntHash: '22222222222222222222222222222222', enabled: false }, // disabled
    { ...user('dave', 1404, 'x'), ntHash: '33333333333333333333333333333333' }, // uid changed
    user('frank', 1006, 'f'), // new
    // eve is gone
  ];
  const plan = planPassdb(want, current);
  assert.deepEqual(plan.remove.sort(), ['dave', 'eve']);
  assert.deepEqual(
    plan.upsert.map((u) => u.name),
    ['bob', 'carol', 'dave', 'frank'],
  );
  // lower-case hex in the desired state is the same hash
  assert.deepEqual(planPassdb([{ ...want[0]!, ntHash: want[0]!.ntHash.toLowerCase() }], current.slice(0, 1)), { upsert: [], remove: [] });
});

test('files are written atomically and only when changed', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-smb-render-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const f = join(dir, 'smb.conf');
  assert.equal(await writeFileIfChanged(f, 'a\n', 0o600), true);
  const first = await stat(f);
  assert.equal(first.mode & 0o777, 0o600);
  assert.equal(await writeFileIfChanged(f, 'a\n', 0o600), false);
  assert.equal((await stat(f)).ino, first.ino, 'unchanged content: file untouched');
  assert.equal(await writeFileIfChanged(f, 'b\n', 0o600), true);
  assert.notEqual((await stat(f)).ino, first.ino, 'replaced by rename, not rewritten in place');
  assert.equal(await readFile(f, 'utf8'), 'b\n');
  assert.deepEqual(await readdir(dir), ['smb.conf'], 'no temp files left');
});
