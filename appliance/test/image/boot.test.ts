/**
 * The full boot test of the appliance image: firmware (OVMF) → systemd-boot
 * → the image's kernel → systemd → first boot → glusterd, rpcbind → cairnd.
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

/**
 * The token on the console is the one cairnd wants: a wrong one is refused,
 * this one creates the admin, and the greeting then drops it (cairnd removed
 * the file; cairn-issue.path rewrote the text).
 */
async function checkSetupToken(guest: Guest): Promise<void> {
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
}

test('the appliance image boots in QEMU (UEFI, systemd): cairnd READY, health through a forwarded port, first-boot greeting and token', { skip: skipFull(), timeout: BUILD_TIMEOUT_MS + BOOT_TIMEOUT_MS + 300_000 }, async (t) => {
  const out = await buildImage();
  const guest = await bootImage(t, out, { kind: 'uefi' }, 'image-boot');

  await t.test('cairnd reports READY to systemd', () => checkCairndReady(guest));
  console.log(`# cairnd active and greeting shown ${((Date.now() - guest.startedAt) / 1000).toFixed(0)} s after power-on`);
  await t.test('health answers through the forwarded port', () => checkHealth(guest));
  await t.test('first boot: own hostname, SSH keys, greeting with address, console URL, setup token', () => checkFirstBootText(guest));
  await t.test('the setup token on the console sets up the admin; the greeting then drops it', () => checkSetupToken(guest));
  await t.test('NFS export listed and read with libnfs', { skip: '`cairnd run` does not serve NFS yet (the server is `cairnd nfs-serve`, not wired into the daemon)' }, () => {});
  await t.test('SMB share answers smbclient', { skip: '`cairnd run` does not start smbd yet (smb/ is not wired into the daemon)' }, () => {});
});
