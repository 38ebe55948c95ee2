/**
 * Root's ssh keys for geo-replication set-up: Gluster's `create push-pem`
 * needs root of the primary to reach root of the secondary by key once
 * (docs/geo-replication.md). The console shows this appliance's public key
 * (made on first use) and, on the remote appliance, authorizes a pasted
 * one, so no shell is needed.
 *
 * Only a bare public key is accepted: no `authorized_keys` options (a
 * `command=` or `from=` prefix could not come from `publicKey()` and is
 * refused), one line, a known key type, base64 body. Appending is
 * idempotent. Keys are written with mode 0600 in a 0700 directory.
 */
import { execFile } from 'node:child_process';
import { appendFile, chmod, mkdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const KEY_RE = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521)) ([A-Za-z0-9+/]{40,}={0,2})(?: ([\x21-\x7e][\x20-\x7e]{0,199}))?$/;

export class SshKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SshKeyError';
  }
}

/** Pure: a public key line checked and normalized ("type base64 [comment]"), or a SshKeyError. */
export function checkPublicKey(text: string): string {
  const line = text.trim();
  if (/[\r\n]/.test(line)) throw new SshKeyError('one public key, on one line');
  const m = KEY_RE.exec(line);
  if (!m) throw new SshKeyError('not an ssh public key ("ssh-ed25519 AAAA… comment"); options such as command= are not accepted');
  return line;
}

export class RootSshKeys {
  constructor(private readonly dir = '/root/.ssh') {}

  /** This appliance's root public key (id_ed25519.pub), made on first use. */
  async publicKey(): Promise<string> {
    const pub = join(this.dir, 'id_ed25519.pub');
    const existing = await readFile(pub, 'utf8').catch(() => null);
    if (existing !== null) return checkPublicKey(existing);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `root@${hostname()} (cairn geo-replication)`, '-f', join(this.dir, 'id_ed25519')], { timeout: 30_000 });
    return checkPublicKey(await readFile(pub, 'utf8'));
  }

  /** Lets the holder of `key` log in as root (authorized_keys); false when it was there already. */
  async authorize(key: string): Promise<boolean> {
    const line = checkPublicKey(key);
    const [type, body] = line.split(' ');
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await chmod(this.dir, 0o700);
    const file = join(this.dir, 'authorized_keys');
    const current = await readFile(file, 'utf8').catch(() => '');
    if (current.split('\n').some((l) => l.trim().split(/\s+/).some((_, i, a) => a[i] === type && a[i + 1] === body))) return false;
    await appendFile(file, `${current === '' || current.endsWith('\n') ? '' : '\n'}${line}\n`, { mode: 0o600 });
    await chmod(file, 0o600);
    return true;
  }
}
