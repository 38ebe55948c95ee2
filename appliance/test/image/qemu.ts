/**
 * The appliance image under QEMU, for the boot tests: software emulation
 * (no usable KVM here), 2 vCPUs, 2 GiB, the built disk.qcow2 behind a
 * throwaway overlay, user-mode networking with `restrict=on` (the guest
 * reaches nothing outside) and forwards from random 127.0.0.1 ports to the
 * guest's 8080 (API and console), 2049 (NFS) and 445 (SMB). The serial
 * console is the test's window into the guest: it is kept in memory and
 * written as it comes to test-artifacts/<name>-serial.log.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { access, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runToExit } from '../helpers/cairnd.js';

export const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
export const OUT = join(REPO, 'image-build', 'out');
const ARTIFACTS = join(REPO, 'test-artifacts');
const QEMU = '/usr/bin/qemu-system-x86_64';
const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';
export const BUILD_TIMEOUT_MS = 900_000;

export interface Guest {
  /** Host ports on 127.0.0.1 forwarded to the guest's ports. */
  ports: { http: number; nfs: number; smb: number };
  /** Date.now() when QEMU was started. */
  startedAt: number;
  /** Everything on the serial console so far, without colours and CRs. */
  serial(): string;
  /** Resolves with the first match of `re` on the serial console; rejects on timeout or QEMU exit. */
  waitSerial(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** Types on the serial console. */
  type(text: string): void;
}

export type Boot =
  /** Firmware (OVMF) → systemd-boot on the ESP → the image's kernel → systemd. */
  | { kind: 'uefi' }
  /** QEMU loads the image's kernel and initramfs itself, with this command line. */
  | { kind: 'kernel'; append: string };

/** Why the image tests cannot run here, or false. */
export function whySkip(): string | false {
  if (process.env.CAIRN_IMAGE_TEST === 'skip') return 'CAIRN_IMAGE_TEST=skip';
  if (process.getuid?.() !== 0) return 'building the image needs root';
  return false;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
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

/**
 * The image under test: CAIRN_IMAGE_OUT names a directory that build.sh
 * filled; otherwise build.sh builds into image-build/out (quick when its
 * bootstrap is cached). The build log goes to test-artifacts/image-build.log.
 */
export async function buildImage(): Promise<string> {
  if (process.env.CAIRN_IMAGE_OUT) return process.env.CAIRN_IMAGE_OUT;
  const started = Date.now();
  const r = await runToExit('bash', [join(REPO, 'image-build', 'build.sh'), '--out', OUT, '--no-app-build'], {}, BUILD_TIMEOUT_MS);
  await mkdir(ARTIFACTS, { recursive: true });
  await writeFile(join(ARTIFACTS, 'image-build.log'), r.stderr + r.stdout);
  assert.equal(r.code, 0, `build.sh failed (log in test-artifacts/image-build.log):\n${r.stderr.slice(-3000)}`);
  console.log(`# image built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return OUT;
}

/** Boots the image in `out`; QEMU is stopped by pid and the scratch directory removed when `t` ends. */
export async function bootImage(t: TestContext, out: string, boot: Boot, name: string): Promise<Guest> {
  for (const f of [QEMU, OVMF_CODE, OVMF_VARS]) assert.ok(await exists(f), `${f} is missing: run scripts/setup.sh`);
  const dir = await mkdtemp(join(tmpdir(), 'cairn-boot-'));
  let qemu: ChildProcess | undefined;
  t.after(async () => {
    if (qemu && qemu.exitCode === null && qemu.signalCode === null) {
      const exited = once(qemu, 'exit');
      qemu.kill('SIGTERM');
      const timer = setTimeout(() => qemu?.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  });

  const overlay = join(dir, 'overlay.qcow2');
  const made = await runToExit('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', join(out, 'disk.qcow2'), overlay]);
  assert.equal(made.code, 0, made.stderr);

  const ports = { http: await freePort(), nfs: await freePort(), smb: await freePort() };
  const fwd = [`hostfwd=tcp:127.0.0.1:${ports.http}-:8080`, `hostfwd=tcp:127.0.0.1:${ports.nfs}-:2049`, `hostfwd=tcp:127.0.0.1:${ports.smb}-:445`];
  const args = [
    '-machine', 'q35', '-accel', 'tcg', '-smp', '2', '-m', '2048',
    '-nodefaults', '-display', 'none', '-no-reboot',
    '-serial', 'stdio', '-monitor', 'none',
    '-drive', `if=virtio,format=qcow2,file=${overlay}`,
    '-netdev', `user,id=n0,restrict=on,${fwd.join(',')}`,
    '-device', 'virtio-net-pci,netdev=n0',
  ];
  if (boot.kind === 'uefi') {
    const vars = join(dir, 'OVMF_VARS.fd');
    await copyFile(OVMF_VARS, vars);
    args.push('-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`, '-drive', `if=pflash,format=raw,unit=1,file=${vars}`);
  } else {
    args.push('-kernel', join(out, 'vmlinuz'), '-initrd', join(out, 'initrd.img'), '-append', boot.append);
  }

  await mkdir(ARTIFACTS, { recursive: true });
  const serialLog = createWriteStream(join(ARTIFACTS, `${name}-serial.log`));
  t.after(() => new Promise<void>((resolve) => serialLog.end(resolve)));
  qemu = spawn(QEMU, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const proc = qemu;
  const startedAt = Date.now();
  let raw = '';
  let plain = '';
  const waiters = new Set<() => void>();
  const onOutput = (d: Buffer) => {
    serialLog.write(d);
    raw += d.toString('latin1');
    // The console draws with CR LF and ANSI colours: match on plain lines.
    plain = raw.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
    for (const w of waiters) w();
  };
  proc.stdout!.on('data', onOutput);
  proc.stderr!.on('data', onOutput);
  const exited = once(proc, 'exit');

  return {
    ports,
    startedAt,
    serial: () => plain,
    type: (text) => void proc.stdin!.write(text),
    waitSerial(re, timeoutMs) {
      return new Promise((resolve, reject) => {
        const done = () => {
          waiters.delete(check);
          clearTimeout(timer);
        };
        const check = () => {
          const m = plain.match(re);
          if (m) {
            done();
            resolve(m);
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`not on the serial console within ${timeoutMs / 1000} s: ${re}\n--- last output:\n${plain.slice(-2500)}`));
        }, timeoutMs);
        void exited.then(([code, signal]) => {
          if (!waiters.has(check)) return;
          done();
          reject(new Error(`QEMU exited (${code ?? signal}) before ${re}\n--- last output:\n${plain.slice(-2500)}`));
        });
        waiters.add(check);
        check();
      });
    },
  };
}

/** The kernel command line build.sh wrote for this image (root=PARTUUID=… and the manifest's cmdline). */
export async function imageCmdline(out: string): Promise<string> {
  return (await readFile(join(out, 'cmdline'), 'utf8')).trim();
}

export async function getJson(url: string, timeoutMs: number): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: await res.json() };
}
