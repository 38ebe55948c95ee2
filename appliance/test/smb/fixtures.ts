/** Desired-state builders shared by the SMB tests. */
import type { SmbDesired, SmbShare, SmbUser } from '../../src/smb/types.js';
import { ntHash } from '../../src/smb/users.js';

export function share(name: string, path: string, extra: Partial<SmbShare> = {}): SmbShare {
  return {
    name,
    backend: { kind: 'local', path },
    readOnly: false,
    browseable: true,
    guestOk: false,
    validUsers: [],
    validGroups: [],
    hostsAllow: [],
    ...extra,
  };
}

export function user(name: string, uid: number, password: string, extra: Partial<SmbUser> = {}): SmbUser {
  return { name, uid, gid: uid, ntHash: ntHash(password), enabled: true, ...extra };
}

export function desired(port: number, shares: SmbShare[], users: SmbUser[] = [], extra: Partial<SmbDesired> = {}): SmbDesired {
  return {
    server: { netbiosName: 'CAIRNTEST', workgroup: 'WORKGROUP', port, interfaces: ['127.0.0.1'] },
    shares,
    users,
    groups: [],
    ...extra,
  };
}
