/**
 * Boot test of the appliance image: QEMU with software emulation (no KVM
 * here), 2 vCPUs, 2 GiB, OVMF firmware, the built disk.qcow2 behind a
 * throwaway overlay. User-mode networking with `restrict=on` (the guest
 * reaches nothing outside) and forwards from random 127.0.0.1 ports to the
 * guest's services. Every check is one function of the running guest.
 *
 * The image comes from CAIRN_IMAGE (a disk.qcow2) or is built with
 * image-build/build.sh into image-build/out (quick when its bootstrap is
 * cached). CAIRN_IMAGE_TEST=skip leaves the test out.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { access, copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runToExit } from '../helpers/cairnd.js';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';
const QEMU = '/usr/bin/qemu-system-x86_64';
/** From power-on to cairnd's greeting; a TCG boot takes about a minute when the machine is quiet. */
const BOOT_TIMEOUT_MS = 420_000;
const BUILD_TIMEOUT_MS = 900_000;

interface Guest {
  /** Host ports on 127.0.0.1 forwarded to the guest's ports. */
  ports: { http: number; nfs: number; smb: number };
  /** Everything the guest wrote on its serial console so far. */
  serial(): string;
  /** Resolves with the first match of `re` on the serial console. */
  waitSerial(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  bootedAt: number;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function whySkip(): string | false {
  if (process.env.CAIRN_IMAGE_TEST === 'skip') return 'CAIRN_IMAGE_TEST=skip';
  if (process.getuid?.() !== 0) return 'building the image needs root';
  return false;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const addr = srv.address();
  srv.close();
  assert.ok(addr && typeof addr === 'object');
  return addr.port;
}

/** The image under test: CAIRN_IMAGE, or a fresh build (its log goes to test-artifacts/). */
async function image(): Promise<string> {
  if (process.env.CAIRN_IMAGE) return process.env.CAIRN_IMAGE;
  const out = join(REPO, 'image-build', 'out');
  const started = Date.now();
  const r = await runToExit('bash', [join(REPO, 'image-build', 'build.sh'), '--out', out, '--no-app-build'], {}, BUILD_TIMEOUT_MS);
  await mkdir(join(REPO, 'test-artifacts'), { recursive: true });
  await writeFile(join(REPO, 'test-artifacts', 'image-build.log'), r.stderr + r.stdout);
  assert.equal(r.code, 0, `build.sh failed (log in test-artifacts/image-build.log):\n${r.stderr.slice(-3000)}`);
  console.log(`# image built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return join(out, 'disk.qcow2');
}

/** Boots `disk` behind an overlay; QEMU is stopped by pid and the scratch directory removed when `t` ends. */
async function boot(t: TestContext, disk: string): Promise<Guest> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-boot-'));
  let qemu: ChildProcess | undefined;
  let serial = '';
  t.after(async () => {
    if (qemu && qemu.exitCode === null && qemu.signalCode === null) {
      const exited = once(qemu, 'exit');
      qemu.kill('SIGTERM');
      const timer = setTimeout(() => qemu?.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await mkdir(join(REPO, 'test-artifacts'), { recursive: true }).catch(() => {});
    await writeFile(join(REPO, 'test-artifacts', 'image-boot-serial.log'), serial).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  });

  const overlay = join(dir, 'overlay.qcow2');
  const made = await runToExit('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', disk, overlay]);
  assert.equal(made.code, 0, made.stderr);
  const vars = join(dir, 'OVMF_VARS.fd');
  await copyFile(OVMF_VARS, vars);

  const ports = { http: await freePort(), nfs: await freePort(), smb: await freePort() };
  const fwd = [`hostfwd=tcp:127.0.0.1:${ports.http}-:8080`, `hostfwd=tcp:127.0.0.1:${ports.nfs}-:2049`, `hostfwd=tcp:127.0.0.1:${ports.smb}-:445`];
  const args = [
    '-machine', 'q35', '-accel', 'tcg', '-smp', '2', '-m', '2048',
    '-nodefaults', '-display', 'none', '-no-reboot',
    '-serial', 'stdio', '-monitor', 'none',
    '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`,
    '-drive', `if=pflash,format=raw,unit=1,file=${vars}`,
    '-drive', `if=virtio,format=qcow2,file=${overlay}`,
    '-netdev', `user,id=n0,restrict=on,${fwd.join(',')}`,
    '-device', 'virtio-net-pci,netdev=n0',
  ];
  qemu = spawn(QEMU, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const bootedAt = Date.now();
  const waiters = new Set<() => void>();
  const onOutput = (d: Buffer) => {
    serial += d.toString('latin1');
    for (const w of waiters) w();
  };
  qemu.stdout!.on('data', onOutput);
  qemu.stderr!.on('data', onOutput);
  const exited = once(qemu, 'exit');

  return {
    ports,
    bootedAt,
    serial: () => serial,
    waitSerial(re, timeoutMs) {
      return new Promise((resolve, reject) => {
        // eslint-disable-next-line prefer-const
        let timer: NodeJS.Timeout;
        const check = () => {
          // The console draws with CR LF and ANSI colours: match on plain lines.
          const m = serial.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/\r/g, '').match(re);
          if (m) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(m);
          }
        };
        timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`not on the serial console within ${timeoutMs / 1000} s: ${re}\n--- last output:\n${serial.slice(-2500)}`));
        }, timeoutMs);
        void exited.then(([code, signal]) => {
          if (!waiters.has(check)) return;
          waiters.delete(check);
          clearTimeout(timer);
          reject(new Error(`QEMU exited (${code ?? signal}) before ${re}\n--- last output:\n${serial.slice(-2500)}`));
        });
        waiters.add(check);
        check();
      });
    },
  };
}

async function getJson(url: string, timeoutMs: number): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: await res.json() };
}

// --- checks: one function each --------------------------------------------

/** systemd saw cairnd's READY=1: the unit became active and its STATUS= text reached systemd. */
async function checkCairndReady(guest: Guest): Promise<void> {
  // cairn-issue.service is ordered after cairnd.service, which (Type=notify)
  // is started only once READY=1 arrived; it prints systemd's view of cairnd
  // and the STATUS= text cairnd sent.
  const m = await guest.waitSerial(/cairn-console: +cairnd: +(.*)/, BOOT_TIMEOUT_MS);
  assert.match(m[1]!, /^running \(serving API on :8080\)/);
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
  // cairnd on this branch writes no setup-token file yet: the greeting says where the token is.
  await guest.waitSerial(/cairn-console: +(Setup token: +\S+|Setup: .*one-time setup token)/, 10_000);
  // The same text is above the login prompt on the serial getty.
  await guest.waitSerial(/Console: +http:\/\/10\.0\.2\.15:8080\/[\s\S]*login: /, 60_000);
}

test('the appliance image boots in QEMU: cairnd READY, health through a forwarded port, first-boot text on the console', { skip: whySkip(), timeout: BUILD_TIMEOUT_MS + BOOT_TIMEOUT_MS + 120_000 }, async (t) => {
  for (const f of [QEMU, OVMF_CODE, OVMF_VARS]) assert.ok(await exists(f), `${f} is missing: run scripts/setup.sh`);
  const disk = await image();
  const guest = await boot(t, disk);

  await t.test('cairnd reports READY to systemd', () => checkCairndReady(guest));
  console.log(`# cairnd active ${((Date.now() - guest.bootedAt) / 1000).toFixed(0)} s after power-on`);
  await t.test('health answers through the forwarded port', () => checkHealth(guest));
  await t.test('first boot: own hostname, SSH keys, greeting with address, console URL, setup token', () => checkFirstBootText(guest));
  await t.test('NFS export listed and read with libnfs', { skip: 'cairnd has no NFS server on this branch yet (issue: NFS)' }, () => {});
  await t.test('SMB share answers smbclient', { skip: 'cairnd does not run Samba on this branch yet (issue: SMB)' }, () => {});
});
