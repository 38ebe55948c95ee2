/**
 * Every file Samba keeps lives under one directory (the `samba/` folder of
 * cairnd's data dir in the dev default): configuration, passdb, locks, state,
 * caches, pid files, sockets and logs. Nothing under /etc/samba or
 * /var/lib/samba is used, so several instances can run side by side.
 */
import { join, resolve } from 'node:path';

export interface SambaPaths {
  root: string;
  /** The smb.conf smbd runs with. */
  config: string;
  /** Where a new configuration is written and checked before it replaces `config`. */
  candidate: string;
  privateDir: string;
  lockDir: string;
  stateDir: string;
  cacheDir: string;
  pidDir: string;
  ncalrpcDir: string;
  bindDnsDir: string;
  logDir: string;
  /** nss_wrapper's passwd and group files: the Unix accounts behind Samba users. */
  passwd: string;
  group: string;
  /** Scratch space for short-lived files (the passdb import file). */
  tmpDir: string;
}

export function sambaPaths(dataDir: string): SambaPaths {
  const root = resolve(dataDir);
  return {
    root,
    config: join(root, 'smb.conf'),
    candidate: join(root, 'smb.conf.candidate'),
    privateDir: join(root, 'private'),
    lockDir: join(root, 'lock'),
    stateDir: join(root, 'state'),
    cacheDir: join(root, 'cache'),
    pidDir: join(root, 'run'),
    ncalrpcDir: join(root, 'run', 'ncalrpc'),
    bindDnsDir: join(root, 'bind-dns'),
    logDir: join(root, 'log'),
    passwd: join(root, 'accounts', 'passwd'),
    group: join(root, 'accounts', 'group'),
    tmpDir: join(root, 'tmp'),
  };
}
