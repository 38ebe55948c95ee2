/**
 * The full boot test of the appliance image: firmware (OVMF) → systemd-boot
 * → the image's kernel → systemd → first boot → glusterd, rpcbind → cairnd,
 * then the admin (setup token), a user and an NFS+SMB share through the API,
 * and libnfs and smbclient from the host against the forwarded 2049 and 445.
 * Every check is one function of the running guest (qemu.ts: QEMU with
 * software emulation, forwards from random 127.0.0.1 ports).
 *
 * It takes 3–8 minutes on a 2-core machine without KVM, too long for
 * `npm test`, which runs the quick test (quick.test.ts) instead. Run it with
 *   CAIRN_IMAGE_TEST=full node --test appliance/dist/test/image/boot.test.js
 * (as root; it builds the image first, or uses CAIRN_IMAGE_OUT=DIR).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tool } from '../nfs/helpers/nfs-serve.js';
import { makeClient } from '../smb/client.js';
import { bootImage, buildImage, BUILD_TIMEOUT_MS, getJson, whySkip, type Guest } from './qemu.js';

/** From power-on to cairnd's greeting: about 2.5 min on a quiet machine, much more on a busy one. */
const BOOT_TIMEOUT_MS = 900_000;

function skipFull(): string | false {
  if (process.env.CAIRN_IMAGE_TEST !== 'full') return 'the full boot takes minutes: CAIRN_IMAGE_TEST=full runs it';
  return whySkip();
}

// --- checks: one function each --------------------------------------------

/** systemd saw cairnd's READY=1: the unit became active and its STATUS= text reached systemd. */
async function checkCairndReady(guest: Guest): Promise<void> {
  // cairn-issue.service is ordered after cairnd.service, which (Type=notify)
  // is started only once READY=1 arrived; it prints systemd's view of cairnd
  // and the STATUS= text cairnd sent.
  // Whole lines only: the serial console arrives in pieces.
  const m = await guest.waitSerial(/cairn-console: +cairnd: +(.*)\n/, BOOT_TIMEOUT_MS);
  assert.match(m[1]!, /^running \(serving API on :8080[;)]/);
}

/** The API's health endpoint answers through the forwarded port. */
async function checkHealth(guest: Guest): Promise<void> {
  const { status, body } = await getJson(`http://127.0.0.1:${guest.ports.http}/api/v1/health`, 20_000);
  assert.equal(status, 200);
  assert.equal((body as { status: string }).status, 'ok');
  const page = await fetch(`http://127.0.0.1:${guest.ports.http}/`, { signal: AbortSignal.timeout(20_000) });
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<html/i, 'the console is served at /');
}

/** First boot gave the copy its own name and printed address, console URL and setup token on the console. */
async function checkFirstBootText(guest: Guest): Promise<void> {
  const named = await guest.waitSerial(/cairn-firstboot: ready: (cairn-[0-9a-f]{6}), machine id ([0-9a-f]{32})/, 10_000);
  assert.equal(named[1], `cairn-${named[2]!.slice(0, 6)}`);
  await guest.waitSerial(/cairn-firstboot: SSH host keys made: SHA256:/, 10_000);
  const greeting = await guest.waitSerial(/cairn-console: Cairn appliance (cairn-[0-9a-f]{6})/, 10_000);
  assert.equal(greeting[1], named[1]);
  // QEMU's user network hands the guest 10.0.2.15.
  await guest.waitSerial(/cairn-console: +Address: +10\.0\.2\.15/, 10_000);
  await guest.waitSerial(/cairn-console: +Console: +http:\/\/10\.0\.2\.15:8080\//, 10_000);
  await guest.waitSerial(/cairn-console: +Setup token: +[a-z0-9]{5}(-[a-z0-9]{5}){3}\n/, 10_000);
  // The same text is above the login prompt on the serial getty.
  await guest.waitSerial(/\n {2}Console: +http:\/\/10\.0\.2\.15:8080\/\n[\s\S]*\n {2}Setup token: +\S+\n[\s\S]*login: /, 60_000);
}

/** An admin session on the guest's API: `call` sends the session cookies and the CSRF header. */
interface Session {
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }>;
}

/**
 * The token on the console is the one cairnd wants: a wrong one is refused,
 * this one creates the admin, and the greeting then drops it (cairnd removed
 * the file; cairn-issue.path rewrote the text). Returns the admin's session.
 */
async function checkSetupToken(guest: Guest): Promise<Session> {
  const token = (await guest.waitSerial(/cairn-console: +Setup token: +(\S+)\n/, 10_000))[1]!;
  const setup = (body: unknown) =>
    fetch(`http://127.0.0.1:${guest.ports.http}/api/v1/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
  const wrong = await setup({ token: 'aaaaa-bbbbb-ccccc-ddddd', password: 'boot-test-password' });
  assert.equal(wrong.status, 401);
  const right = await setup({ token, password: 'boot-test-password' });
  assert.equal(right.status, 201, await right.text());
  await guest.waitSerial(/cairn-console: +Setup: +done/, 60_000);
  const cookies = right.headers.getSetCookie().map((c) => c.split(';')[0]!);
  const csrf = cookies.find((c) => c.startsWith('cairn_csrf='))?.split('=')[1];
  assert.ok(csrf, `setup set no cairn_csrf cookie: ${cookies.join('; ')}`);
  return {
    async call(method, path, body) {
      const res = await fetch(`http://127.0.0.1:${guest.ports.http}/api/v1${path}`, {
        method,
        headers: { 'content-type': 'application/json', cookie: cookies.join('; '), 'x-csrf-token': csrf },
        signal: AbortSignal.timeout(60_000),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    },
  };
}

const SHARE = 'bootshare';
const USER = { name: 'bootuser', password: 'boot-user-secret-pw' };

/**
 * A user and a share with both NFS and SMB on, through the API. QEMU's user
 * network (slirp) delivers the host's traffic from 10.0.2.2 and picks its own
 * source ports, so the export allows 10.0.2.2 with `secure: false`; NFS
 * writes are squashed to the user so SMB (as that user) can read them.
 */
async function createUserAndShare(session: Session): Promise<void> {
  let r = await session.call('POST', '/users', { name: USER.name, password: USER.password, fullName: 'Boot Test' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const uid = Number(r.body.uid);
  assert.ok(Number.isInteger(uid) && uid > 0, `user uid: ${JSON.stringify(r.body)}`);
  r = await session.call('POST', '/shares', {
    name: SHARE,
    nfs: { enabled: true, clients: [{ match: '10.0.2.2', access: 'rw', squash: 'all_squash', anonUid: uid, anonGid: uid, secure: false }] },
    smb: { enabled: true, validUsers: [USER.name] },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  // The reconciler reports no problem for the share (smbd started, export served).
  const deadline = Date.now() + 120_000;
  for (;;) {
    const share = await session.call('GET', `/shares/${SHARE}`);
    if (Array.isArray(share.body.problems) && share.body.problems.length === 0) break;
    if (Date.now() > deadline) assert.fail(`share problems: ${JSON.stringify(share.body.problems)}`);
    await new Promise((res) => setTimeout(res, 1000));
  }
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Retries `attempt` until it returns true or `ms` pass (a service that was just started may need a moment). */
async function eventually(ms: number, attempt: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await attempt())) {
    if (Date.now() > deadline) return;
    await new Promise((res) => setTimeout(res, 2000));
  }
}

/** libnfs from the host: the export is listed, a file written over NFS reads back the same. */
async function checkNfs(guest: Guest, dir: string): Promise<void> {
  const p = guest.ports.nfs;
  const url = (path: string) => `nfs://127.0.0.1/${SHARE}${path}?version=3&nfsport=${p}&mountport=${p}`;
  let ls = await tool('nfs-ls', [url('')], 60_000);
  await eventually(60_000, async () => (ls = await tool('nfs-ls', [url('')], 60_000)).code === 0);
  assert.equal(ls.code, 0, `nfs-ls of the new export: ${ls.stderr}`);
  const payload = randomBytes(1024 * 1024 + 7);
  await writeFile(join(dir, 'to-nfs.bin'), payload);
  const put = await tool('nfs-cp', [join(dir, 'to-nfs.bin'), url('/from-nfs.bin')], 120_000);
  assert.equal(put.code, 0, put.stderr);
  const get = await tool('nfs-cp', [url('/from-nfs.bin'), join(dir, 'back-nfs.bin')], 120_000);
  assert.equal(get.code, 0, get.stderr);
  assert.equal(sha(await readFile(join(dir, 'back-nfs.bin'))), sha(payload));
  ls = await tool('nfs-ls', [url('')], 60_000);
  assert.match(ls.stdout, /from-nfs\.bin/);
  const missing = await tool('nfs-ls', [`nfs://127.0.0.1/nothing?version=3&nfsport=${p}&mountport=${p}`], 60_000);
  assert.notEqual(missing.code, 0, 'an unknown export is refused');
}

/** smbclient from the host: put and get with the same checksum, the NFS file readable, a wrong password refused. */
async function checkSmb(guest: Guest, dir: string): Promise<void> {
  const smb = await makeClient(join(dir, 'smb'), guest.ports.smb);
  const as = { user: USER.name, password: USER.password, cwd: dir, timeoutMs: 120_000 };
  let ls = await smb.run(SHARE, 'ls', as);
  await eventually(60_000, async () => (ls = await smb.run(SHARE, 'ls', as)).status === null);
  assert.equal(ls.status, null, ls.out);
  const payload = randomBytes(2 * 1024 * 1024 + 13);
  await writeFile(join(dir, 'to-smb.bin'), payload);
  const put = await smb.run(SHARE, 'put to-smb.bin from-smb.bin', as);
  assert.equal(put.status, null, put.out);
  const get = await smb.run(SHARE, 'get from-smb.bin back-smb.bin', as);
  assert.equal(get.status, null, get.out);
  assert.equal(sha(await readFile(join(dir, 'back-smb.bin'))), sha(payload));
  // The file written over NFS (squashed to the user) reads the same over SMB.
  const cross = await smb.run(SHARE, 'get from-nfs.bin via-smb.bin', as);
  assert.equal(cross.status, null, cross.out);
  assert.equal(sha(await readFile(join(dir, 'via-smb.bin'))), sha(await readFile(join(dir, 'to-nfs.bin'))));
  const bad = await smb.run(SHARE, 'ls', { ...as, password: 'wrong-password' });
  assert.equal(bad.status, 'NT_STATUS_LOGON_FAILURE', bad.out);
}

test('the appliance image boots in QEMU (UEFI, systemd): cairnd READY, health through a forwarded port, first-boot greeting and token', { skip: skipFull(), timeout: BUILD_TIMEOUT_MS + BOOT_TIMEOUT_MS + 300_000 }, async (t) => {
  const out = await buildImage();
  const guest = await bootImage(t, out, { kind: 'uefi' }, 'image-boot');

  await t.test('cairnd reports READY to systemd', () => checkCairndReady(guest));
  console.log(`# cairnd active and greeting shown ${((Date.now() - guest.startedAt) / 1000).toFixed(0)} s after power-on`);
  await t.test('health answers through the forwarded port', () => checkHealth(guest));
  await t.test('first boot: own hostname, SSH keys, greeting with address, console URL, setup token', () => checkFirstBootText(guest));
  let session: Session | undefined;
  await t.test('the setup token on the console sets up the admin; the greeting then drops it', async () => {
    session = await checkSetupToken(guest);
  });
  const dir = await mkdtemp(join(tmpdir(), 'cairn-boot-clients-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await t.test('a user and an NFS+SMB share are created through the API', async () => {
    assert.ok(session, 'no admin session (setup failed)');
    await createUserAndShare(session);
  });
  await t.test('NFS export listed, written and read with libnfs', () => checkNfs(guest, dir));
  await t.test('SMB share: smbclient put/get with the same checksum, NFS file readable', () => checkSmb(guest, dir));
});
