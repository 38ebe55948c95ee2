/**
 * SambaService against a real smbd on a random high port, with the real
 * smbclient. One smbd for the whole file; the tests run in order and each
 * apply() moves the desired state on.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SambaService } from '../../src/smb/samba.js';
import type { SmbDesired, SmbShare, SmbUser } from '../../src/smb/types.js';
import { freePort, makeClient, pidAlive, type Client } from './client.js';
import { desired, share, user } from './fixtures.js';

async function sha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function waitFor(what: string, fn: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** An interactive smbclient kept open, to hold one SMB session across applies. */
async function openSession(share: string, name: string, password: string) {
  // stdbuf: smbclient's stdout is block-buffered when it is not a terminal.
  const proc = spawn('stdbuf', ['-o0', '-e0', 'smbclient', '-s', client.conf, '-p', String(client.port), `//127.0.0.1/${share}`, '-U', name], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PASSWD: password, LANG: 'C.UTF-8' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let buf = '';
  let closed = false;
  proc.stdout.on('data', (d: Buffer) => (buf += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (buf += d.toString()));
  proc.once('exit', () => (closed = true));
  return {
    /** Sends one command; resolves with what came back once it matches `until`, or the session ends. */
    async send(cmd: string, until: RegExp): Promise<string> {
      const start = buf.length;
      if (!closed) proc.stdin.write(`${cmd}\n`);
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline) {
        const got = buf.slice(start);
        if (until.test(got)) return got;
        if (closed) return `${got}\n[session closed]`;
        await new Promise((r) => setTimeout(r, 50));
      }
      return `${buf.slice(start)}\n[no answer]`;
    },
    close() {
      if (!closed) proc.kill('SIGKILL');
    },
  };
}

let client: Client;

describe('Samba driver with a real smbd and smbclient', () => {
  let dir: string;
  let svc: SambaService;
  let port: number;
  let shares: Record<string, string>;
  let state: SmbDesired;
  const alice = user('alice', 10001, 'alice-pw-1');
  const bob = user('bob', 10002, 'bob-pw-1');
  const pw: Record<string, string> = { alice: 'alice-pw-1', bob: 'bob-pw-1' };

  const as = (name: string, share: string, cmds: string, cwd?: string) => client.run(share, cmds, { user: name, password: pw[name], cwd: cwd ?? dir });

  async function apply(next: SmbDesired) {
    state = next;
    return svc.apply(next);
  }
  function baseShares(): SmbShare[] {
    return [
      share('docs', shares.docs!, { recycleBin: { enabled: true } }),
      share('private', shares.private!, { validUsers: ['alice'] }),
      share('ro', shares.ro!, { readOnly: true }),
      share('team', shares.team!, { validGroups: ['staff'] }),
    ];
  }
  function users(...list: SmbUser[]) {
    return list;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-smb-e2e-'));
    // Samba users are unprivileged Unix accounts: they must be able to reach the shares.
    await chmod(dir, 0o755);
    shares = {};
    for (const s of ['docs', 'private', 'ro', 'team', 'pub', 'fresh', 'netonly', 'secret']) {
      shares[s] = join(dir, 'shares', s);
      await mkdir(shares[s]!, { recursive: true });
      await chmod(shares[s]!, 0o777);
    }
    await writeFile(join(shares.ro!, 'existing.txt'), 'read me\n');
    port = await freePort();
    client = await makeClient(dir, port);
    svc = new SambaService({ dataDir: join(dir, 'samba') });
    await svc.start(); // nothing to run yet: no configuration
    assert.equal(svc.status().running, false);
    const r = await apply(desired(port, baseShares(), users(alice, bob), { groups: [{ name: 'staff', gid: 20000, members: ['alice'] }] }));
    assert.deepEqual(r.problems, []);
    assert.equal(svc.status().running, true);
  });

  after(async () => {
    const dcerpcd = await readFile(join(dir, 'samba', 'run', 'samba-dcerpcd.pid'), 'utf8').catch(() => null);
    await svc?.stop();
    if (dcerpcd) assert.equal(pidAlive(Number(dcerpcd)), false, 'samba-dcerpcd stopped too');
    await rm(dir, { recursive: true, force: true });
  });

  test('log in, put/get 100 MiB with its checksum, mkdir, rename, delete, list', async () => {
    const src = join(dir, 'big.bin');
    const fh = await open(src, 'w');
    const block = Buffer.alloc(1 << 20);
    for (let i = 0; i < 100; i++) {
      for (let j = 0; j < block.length; j += 4) block.writeUInt32LE(((i * 262144 + j) ^ 0x9e3779b9) >>> 0, j);
      await fh.write(block);
    }
    await fh.close();
    const sum = await sha256(src);

    let r = await as('alice', 'docs', 'mkdir work; cd work; put big.bin big.bin; get big.bin back.bin; rename big.bin renamed.bin; ls');
    assert.equal(r.status, null, r.out);
    assert.match(r.out, /renamed\.bin\s+A\s+104857600/);
    assert.equal(await sha256(join(dir, 'back.bin')), sum, 'what came back is what went in');
    assert.equal(await sha256(join(shares.docs!, 'work', 'renamed.bin')), sum, 'what landed on disk is what went in');
    const st = await stat(join(shares.docs!, 'work', 'renamed.bin'));
    assert.equal(st.uid, alice.uid, 'the file belongs to the Unix account behind alice');

    r = await as('alice', 'docs', 'cd work; del renamed.bin; ls');
    assert.equal(r.status, null, r.out);
    assert.doesNotMatch(r.out, /renamed\.bin/);
    r = await as('alice', 'docs', 'rmdir work; ls');
    assert.equal(r.status, null, r.out);
    await rm(src);
    await rm(join(dir, 'back.bin'));
  });

  test('a deleted file lands in the user\'s recycle bin with its folder; temp files do not', async () => {
    await writeFile(join(dir, 'report.docx'), 'quarterly numbers\n');
    await writeFile(join(dir, 'scratch.tmp'), 'temp\n');
    const r = await as('alice', 'docs', 'mkdir q3; cd q3; put report.docx; put scratch.tmp; del report.docx; del scratch.tmp');
    assert.equal(r.status, null, r.out);
    assert.equal(await readFile(join(shares.docs!, '.recycle', 'alice', 'q3', 'report.docx'), 'utf8'), 'quarterly numbers\n');
    await assert.rejects(stat(join(shares.docs!, '.recycle', 'alice', 'q3', 'scratch.tmp')), { code: 'ENOENT' });
    await assert.rejects(stat(join(shares.docs!, 'q3', 'report.docx')), { code: 'ENOENT' });
    const bin = await stat(join(shares.docs!, '.recycle', 'alice'));
    assert.equal(bin.mode & 0o777, 0o700, 'a user\'s bin is private');
    // Visible to its owner over SMB, so a file can be restored.
    const ls = await as('alice', 'docs', 'ls .recycle/alice/q3/*');
    assert.match(ls.out, /report\.docx/);
    // A second user gets a bin of their own beside it.
    const b = await as('bob', 'docs', 'put report.docx bobs.docx; del bobs.docx');
    assert.equal(b.status, null, b.out);
    const bobs = await stat(join(shares.docs!, '.recycle', 'bob', 'bobs.docx'));
    assert.equal(bobs.uid, bob.uid);
    assert.equal((await as('bob', 'docs', 'ls .recycle/alice/*')).status, 'NT_STATUS_ACCESS_DENIED', 'and cannot look into alice\'s');
  });

  test('wrong password refused', async () => {
    const r = await client.run('docs', 'ls', { user: 'alice', password: 'not-her-password' });
    assert.equal(r.status, 'NT_STATUS_LOGON_FAILURE', r.out);
  });

  test('a user not in valid users is refused; one in it gets in', async () => {
    assert.equal((await as('bob', 'private', 'ls')).status, 'NT_STATUS_ACCESS_DENIED');
    assert.equal((await as('alice', 'private', 'ls')).status, null);
  });

  test('a group in valid users admits its members only', async () => {
    assert.equal((await as('alice', 'team', 'ls')).status, null);
    assert.equal((await as('bob', 'team', 'ls')).status, 'NT_STATUS_ACCESS_DENIED');
  });

  test('guests are refused while no share admits them', async () => {
    assert.equal((await client.run('docs', 'ls')).status, 'NT_STATUS_ACCESS_DENIED');
    // With map to guest = never, an unknown name is a failed logon, not a guest.
    assert.equal((await client.run('docs', 'ls', { user: 'nosuchuser', password: 'x' })).status, 'NT_STATUS_LOGON_FAILURE');
  });

  test('read-only share refuses writes and still serves reads', async () => {
    await writeFile(join(dir, 'intruder.txt'), 'x\n');
    const w = await as('alice', 'ro', 'put intruder.txt');
    assert.match(w.status ?? '', /NT_STATUS_(ACCESS_DENIED|MEDIA_WRITE_PROTECTED)/, w.out);
    await assert.rejects(stat(join(shares.ro!, 'intruder.txt')), { code: 'ENOENT' });
    const r = await as('alice', 'ro', 'get existing.txt fetched.txt');
    assert.equal(r.status, null, r.out);
    assert.equal(await readFile(join(dir, 'fetched.txt'), 'utf8'), 'read me\n');
  });

  test('SMB1 is refused', async () => {
    const r = await client.run('docs', 'ls', { user: 'alice', password: pw.alice, args: ['-m', 'NT1', '--option=client min protocol=NT1'] });
    assert.notEqual(r.status, null, r.out);
    assert.doesNotMatch(r.out, /blocks available/);
  });

  test('hot reload: a new guest share appears without restarting smbd; guests reach only it', async () => {
    const pid = svc.status().pid;
    const r = await apply({ ...state, shares: [...baseShares(), share('pub', shares.pub!, { guestOk: true, readOnly: true })] });
    assert.deepEqual(r.problems, []);
    assert.equal(r.configChanged, true);
    assert.equal(svc.status().pid, pid, 'same smbd');
    assert.equal((await client.run('pub', 'ls')).status, null);
    assert.equal((await client.run('docs', 'ls')).status, 'NT_STATUS_ACCESS_DENIED', 'guest still refused elsewhere');
    assert.equal((await as('alice', 'docs', 'ls')).status, null);
  });

  test('an unchanged state changes nothing and reloads nothing', async () => {
    const before = await stat(join(dir, 'samba', 'smb.conf'));
    const r = await apply(state);
    assert.deepEqual(r, { problems: [], configChanged: false, accountsChanged: false, usersChanged: false });
    assert.equal((await stat(join(dir, 'samba', 'smb.conf'))).ino, before.ino);
  });

  test('a bad share option is rejected by testparm; the old configuration stays in force', async () => {
    const old = await readFile(join(dir, 'samba', 'smb.conf'), 'utf8');
    const bad = share('fresh', shares.fresh!, { extraOptions: { 'read only': 'maybe' } });
    const r = await svc.apply({ ...state, shares: [...state.shares, bad] });
    assert.equal(r.configChanged, false);
    assert.equal(r.problems.length, 1);
    assert.equal(r.problems[0]!.path, 'config');
    assert.match(r.problems[0]!.message, /maybe|boolean/);
    assert.equal(await readFile(join(dir, 'samba', 'smb.conf'), 'utf8'), old);
    assert.equal((await as('alice', 'fresh', 'ls')).status, 'NT_STATUS_BAD_NETWORK_NAME');
    assert.equal((await as('alice', 'docs', 'ls')).status, null, 'old shares keep working');

    const unknown = share('fresh', shares.fresh!, { extraOptions: { 'no such parameter': 'x' } });
    const r2 = await svc.apply({ ...state, shares: [...state.shares, unknown] });
    assert.match(r2.problems[0]?.message ?? '', /no such parameter/i);
    assert.equal(await readFile(join(dir, 'samba', 'smb.conf'), 'utf8'), old);
  });

  test('hosts allow keeps out clients from other networks', async () => {
    const r = await apply({ ...state, shares: [...state.shares, share('netonly', shares.netonly!, { hostsAllow: ['10.99.0.0/16'] })] });
    assert.deepEqual(r.problems, []);
    const out = await as('alice', 'netonly', 'ls');
    assert.notEqual(out.status, null, out.out);
    assert.equal((await as('alice', 'docs', 'ls')).status, null);
  });

  test('SMB3 encryption required: an SMB2-only client is refused, an SMB3 client gets in', async () => {
    const r = await apply({ ...state, shares: [...state.shares, share('secret', shares.secret!, { encryption: 'required' })] });
    assert.deepEqual(r.problems, []);
    const smb2 = await client.run('secret', 'ls', { user: 'alice', password: pw.alice, args: ['-m', 'SMB2_10'] });
    assert.equal(smb2.status, 'NT_STATUS_ACCESS_DENIED', smb2.out);
    const smb3 = await client.run('secret', 'ls', { user: 'alice', password: pw.alice, args: ['-m', 'SMB3', '--client-protection=encrypt'] });
    assert.equal(smb3.status, null, smb3.out);
  });

  test('changing a password: the old one stops working, the new one works', async () => {
    pw.bob = 'bob-pw-2';
    const r = await apply({ ...state, users: users(alice, user('bob', 10002, 'bob-pw-2')) });
    assert.deepEqual(r.problems, []);
    assert.equal(r.usersChanged, true);
    assert.equal(r.configChanged, false);
    assert.equal((await client.run('docs', 'ls', { user: 'bob', password: 'bob-pw-1' })).status, 'NT_STATUS_LOGON_FAILURE');
    assert.equal((await as('bob', 'docs', 'ls')).status, null);
  });

  test('disabling a user stops their logins; enabling lets them back', async () => {
    const bob2 = user('bob', 10002, 'bob-pw-2');
    await apply({ ...state, users: users(alice, { ...bob2, enabled: false }) });
    assert.equal((await as('bob', 'docs', 'ls')).status, 'NT_STATUS_ACCOUNT_DISABLED');
    await apply({ ...state, users: users(alice, bob2) });
    assert.equal((await as('bob', 'docs', 'ls')).status, null);
  });

  test('disabling a user also ends the session they have open', async () => {
    const bob2 = user('bob', 10002, 'bob-pw-2');
    const session = await openSession('docs', 'bob', pw.bob!);
    try {
      assert.match(await session.send('ls', /blocks available/), /blocks available/, 'the session works');
      await apply({ ...state, users: users(alice, { ...bob2, enabled: false }) });
      const after = await session.send('ls', /NT_STATUS_|blocks available/);
      assert.match(after, /NT_STATUS_(CONNECTION_DISCONNECTED|CONNECTION_RESET|USER_SESSION_DELETED|NETWORK_NAME_DELETED|INVALID_NETWORK_RESPONSE|PIPE_BROKEN|IO_TIMEOUT)|session closed/i, after);
    } finally {
      session.close();
      await apply({ ...state, users: users(alice, bob2) });
    }
  });

  test('deleting a user stops their logins and removes their account', async () => {
    const r = await apply({ ...state, users: users(alice) });
    assert.deepEqual(r.problems, []);
    // A guest share exists by now, so an unknown name becomes a guest, whom docs refuses.
    assert.equal((await as('bob', 'docs', 'ls')).status, 'NT_STATUS_ACCESS_DENIED');
    assert.equal((await as('bob', 'private', 'ls')).status, 'NT_STATUS_ACCESS_DENIED');
    const passwd = await readFile(join(dir, 'samba', 'accounts', 'passwd'), 'utf8');
    assert.doesNotMatch(passwd, /^bob:/m);
    assert.equal((await as('alice', 'docs', 'ls')).status, null);
  });

  test('no NT hash or password in any file outside passdb', async () => {
    const files = [join(dir, 'samba', 'smb.conf'), join(dir, 'samba', 'accounts', 'passwd'), join(dir, 'samba', 'accounts', 'group')];
    for (const f of files) {
      const text = await readFile(f, 'utf8');
      assert.ok(!text.includes(alice.ntHash) && !text.includes(pw.alice!), f);
    }
    assert.deepEqual(await readdir(join(dir, 'samba', 'tmp')), [], 'import files are removed');
    assert.equal((await stat(join(dir, 'samba', 'private'))).mode & 0o777, 0o700);
  });

  test('smbd killed from outside is restarted by the supervisor', async () => {
    const pid = svc.status().pid!;
    process.kill(pid, 'SIGKILL');
    await waitFor('a new smbd', () => svc.status().running && svc.status().pid !== pid);
    assert.equal(svc.status().restarts, 1);
    await waitFor('smbd answering', async () => (await as('alice', 'docs', 'ls')).status === null);
  });

  test('a port change restarts smbd on the new port', async () => {
    const newPort = await freePort();
    const r = await apply({ ...state, server: { ...state.server, port: newPort } });
    assert.deepEqual(r.problems, []);
    const moved = await makeClient(join(dir, 'moved'), newPort);
    assert.equal((await moved.run('docs', 'ls', { user: 'alice', password: pw.alice })).status, null);
    assert.match((await as('alice', 'docs', 'ls')).status ?? '', /NT_STATUS_CONNECTION_REFUSED/);
  });
});
