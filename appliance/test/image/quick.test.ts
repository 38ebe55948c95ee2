/**
 * The quick boot test of the appliance image, run by `npm test`: QEMU loads
 * the image's own kernel and initramfs, which mount the image's root
 * partition (root=PARTUUID=…, as systemd-boot's entry does), and a shell
 * replaces systemd as init. Typed on the serial console, that shell checks
 * what the image is (Node 20, enabled and masked units, no identity baked
 * in) and starts the image's cairnd, which must answer through a forwarded
 * port and write its setup token. About a minute once the image is built;
 * the firmware, systemd and first boot are the full test's (boot.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootImage, buildImage, BUILD_TIMEOUT_MS, getJson, imageCmdline, whySkip, type Guest } from './qemu.js';

const SHELL_TIMEOUT_MS = 300_000;
// Node loading cairnd under TCG takes 1–2.5 min on a quiet machine; far more under load.
const CAIRND_TIMEOUT_MS = 420_000;

/** Runs `cmd` in the guest's shell; resolves with what it printed after the marker. `$((0))` keeps the typed echo from matching. */
async function inGuest(guest: Guest, key: string, cmd: string, timeoutMs = 60_000): Promise<string> {
  guest.type(`echo "SMOKE$((0)) ${key} $(${cmd})"\n`);
  return (await guest.waitSerial(new RegExp(`SMOKE0 ${key} (.*)\\n`), timeoutMs))[1]!.trim();
}

async function waitHealthy(guest: Guest): Promise<{ status: string }> {
  const deadline = Date.now() + CAIRND_TIMEOUT_MS;
  for (;;) {
    try {
      const { status, body } = await getJson(`http://127.0.0.1:${guest.ports.http}/api/v1/health`, 10_000);
      if (status === 200) return body as { status: string };
    } catch (e) {
      if (Date.now() > deadline) {
        // What cairnd itself said, for the failure message.
        const log = await inGuest(guest, 'cairnd-log', 'tail -c 1500 /run/cairnd.log | tr "\\n" " "', 30_000).catch(() => '(no answer)');
        throw new Error(`cairnd did not answer on the forwarded port within ${CAIRND_TIMEOUT_MS / 1000} s: ${(e as Error).message}\ncairnd.log: ${log}\n${guest.serial().slice(-2000)}`);
      }
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

test('the image boots its kernel and root partition, and its cairnd answers through a forwarded port', { skip: whySkip(), timeout: BUILD_TIMEOUT_MS + SHELL_TIMEOUT_MS + CAIRND_TIMEOUT_MS + 120_000 }, async (t) => {
  const out = await buildImage();
  const root = (await imageCmdline(out)).split(/\s+/).find((a) => a.startsWith('root='));
  assert.ok(root, 'build.sh wrote a root= for the image');
  const guest = await bootImage(t, out, { kind: 'kernel', append: `${root} rw console=ttyS0,115200 init=/bin/sh` }, 'image-quick');

  // The initramfs found the root partition by its PARTUUID and started the image's shell.
  await guest.waitSerial(/\n# $/m, SHELL_TIMEOUT_MS);
  console.log(`# shell on the image's root ${((Date.now() - guest.startedAt) / 1000).toFixed(0)} s after power-on`);
  guest.type('mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t tmpfs run /run; mount -t tmpfs tmp /tmp\n');

  await t.test('the image carries Node 20, the manifest, and no identity of its own', async () => {
    assert.match(await inGuest(guest, 'node', '/opt/cairn/node/bin/node --version'), /^v2\d\./);
    assert.equal(await inGuest(guest, 'machine-id', 'wc -c </etc/machine-id'), '0');
    assert.equal(await inGuest(guest, 'ssh-keys', 'ls /etc/ssh | grep -c ^ssh_host_'), '0');
    const listed = 'grep -cE "^(glusterfs-server|samba|systemd|linux-image-amd64)[[:space:]]" /usr/share/cairn/manifest.txt';
    assert.equal(await inGuest(guest, 'manifest', listed), '4');
  });

  await t.test('units: cairnd, first boot, greeting and glusterd enabled; Debian\'s Samba units masked', async () => {
    const state = (u: string) => inGuest(guest, `unit-${u}`, `systemctl --root=/ is-enabled ${u} 2>&1`);
    for (const u of ['cairnd.service', 'cairn-firstboot.service', 'cairn-bricks.service', 'cairn-issue.service', 'cairn-issue.path', 'glusterd.service', 'rpcbind.socket', 'systemd-networkd.service']) {
      assert.equal(await state(u), 'enabled', u);
    }
    // Brick disks are mounted (cairn-bricks) before glusterd starts the bricks on them.
    const order = await inGuest(guest, 'glusterd-order', "grep -cE '^(Wants|After)=cairn-bricks.service$' /usr/lib/systemd/system/glusterd.service.d/cairn.conf");
    assert.equal(order, '2', 'glusterd wants and comes after cairn-bricks.service');
    for (const u of ['smbd.service', 'nmbd.service', 'samba-ad-dc.service']) assert.equal(await state(u), 'masked', u);
  });

  await t.test('the image\'s cairnd serves health through the forwarded port and writes the setup token', async () => {
    // The shell has no DHCP client running: QEMU's user network has the guest at 10.0.2.15.
    guest.type(
      'modprobe virtio_net 2>/dev/null; i=$(ls /sys/class/net | grep -v ^lo | head -n1); ip link set lo up; ip link set "$i" up; ' +
        'ip addr add 10.0.2.15/24 dev "$i"; ip route add default via 10.0.2.2; mkdir -p /run/cairn-data; ' +
        '/opt/cairn/node/bin/node /opt/cairn/appliance/bin/cairnd.js run --data-dir /run/cairn-data --port 8080 >/run/cairnd.log 2>&1 &\n',
    );
    const health = await waitHealthy(guest);
    assert.ok(['ok', 'degraded'].includes(health.status), `health status ${health.status}`);
    console.log(`# cairnd answered ${((Date.now() - guest.startedAt) / 1000).toFixed(0)} s after power-on`);
    assert.match(await inGuest(guest, 'token', 'cat /run/cairn-data/setup-token'), /^[a-z0-9]{5}(-[a-z0-9]{5}){3}$/);
    assert.equal(await inGuest(guest, 'token-mode', 'stat -c %a /run/cairn-data/setup-token'), '600');
    const setup = await getJson(`http://127.0.0.1:${guest.ports.http}/api/v1/setup`, 10_000);
    assert.deepEqual(setup.body, { needed: true });
  });
});
