/**
 * Exports: which clients may use which directory, and as whom.
 *
 * Like exports(5): an export has a path (what MOUNT asks for) and a list of
 * client rules; the first rule whose `match` covers the caller's address
 * applies. A caller no rule covers gets MNT3ERR_ACCES from MOUNT and
 * NFS3ERR_ACCES from NFS. The dispatcher applies a rule once per call
 * (rpc/dispatch.ts): access, read-only (procedures flagged MAKES_WRITE get
 * NFS3ERR_ROFS) and credential squashing.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { createHash } from 'node:crypto';
import type { Backend, Cred } from './backend/backend.js';
import type { Identity } from './rpc/auth.js';

export type Squash = 'root_squash' | 'all_squash' | 'no_root_squash';

export interface ClientRule {
  /** `*`, an IP address (v4 or v6) or a CIDR (`10.0.0.0/8`, `fd00::/8`). */
  match: string;
  readOnly?: boolean;
  /** Default root_squash, as exports(5). */
  squash?: Squash;
  anonUid?: number;
  anonGid?: number;
  /** Only callers from a source port below 1024. */
  secure?: boolean;
}

export interface ExportSpec {
  /** What clients mount, e.g. `/export`. */
  path: string;
  /**
   * The export's own backend, rooted at the exported directory (or volume).
   * The export id in a file handle picks the backend, and a backend never
   * goes above its root (backend.ts rule 2): so no handle, `..` or symlink
   * of one export reaches outside it.
   */
  backend: Backend;
  clients: ClientRule[];
  /** Stable id carried in file handles; by default derived from `path`. */
  id?: number;
}

export interface Client {
  address: string;
  port: number;
  /** The server address the client connected to (NLM: the name its statd knows us by). */
  local?: string;
}

/** An export with its rules compiled. */
export class Export {
  readonly path: string;
  readonly id: number;
  readonly backend: Backend;
  private readonly rules: Array<{ rule: Required<ClientRule>; test: (addr: string) => boolean }>;

  constructor(readonly spec: ExportSpec) {
    this.path = normalizeExportPath(spec.path);
    this.id = spec.id ?? exportIdOf(this.path);
    this.backend = spec.backend;
    this.rules = spec.clients.map((c) => ({
      rule: {
        match: c.match,
        readOnly: c.readOnly ?? false,
        squash: c.squash ?? 'root_squash',
        anonUid: c.anonUid ?? 65534,
        anonGid: c.anonGid ?? 65534,
        secure: c.secure ?? false,
      },
      test: compileMatch(c.match),
    }));
  }

  /** The rule that applies to `client`, or undefined when it may not use this export. */
  ruleFor(client: Client): Required<ClientRule> | undefined {
    const addr = plainAddress(client.address);
    for (const { rule, test } of this.rules) {
      if (!test(addr)) continue;
      if (rule.secure && client.port >= 1024) return undefined;
      return rule;
    }
    return undefined;
  }

  private root?: Promise<Buffer>;

  /** The backend handle of the export root (asked once). */
  rootHandle(): Promise<Buffer> {
    if (!this.root) {
      this.root = this.backend.root();
      this.root.catch(() => (this.root = undefined));
    }
    return this.root;
  }

  /** The names of the allowed clients (MOUNT EXPORT's groups). */
  get groups(): string[] {
    return this.rules.map((r) => r.rule.match);
  }
}

/** Credentials after squashing (exports(5) root_squash / all_squash). */
export function squash(rule: Required<ClientRule>, id: Identity): Cred {
  const anon = { uid: rule.anonUid, gid: rule.anonGid, gids: [] };
  if (id.flavor === 'none') return anon;
  if (rule.squash === 'all_squash') return anon;
  if (rule.squash === 'root_squash' && id.uid === 0) return { uid: rule.anonUid, gid: rule.anonGid, gids: id.gids.filter((g) => g !== 0) };
  return { uid: id.uid, gid: id.gid, gids: id.gids };
}

export function normalizeExportPath(p: string): string {
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  if (parts.includes('..')) throw new Error(`export path ${JSON.stringify(p)} contains ..`);
  return '/' + parts.join('/');
}

/** A 32-bit id from the export path, so handles survive restarts without a stored table. */
export function exportIdOf(path: string): number {
  return createHash('sha256').update(path).digest().readUInt32BE(0);
}

/** `::ffff:10.1.2.3` (IPv4 on a dual-stack socket) → `10.1.2.3`. */
export function plainAddress(addr: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr);
  return m ? m[1]! : addr;
}

function compileMatch(match: string): (addr: string) => boolean {
  if (match === '*') return () => true;
  const list = new BlockList();
  const slash = match.indexOf('/');
  const ip = slash < 0 ? match : match.slice(0, slash);
  const family = isIPv4(ip) ? 'ipv4' : isIPv6(ip) ? 'ipv6' : undefined;
  if (!family) throw new Error(`client ${JSON.stringify(match)} is not *, an IP address or a CIDR`);
  if (slash < 0) {
    list.addAddress(ip, family);
  } else {
    const bits = Number(match.slice(slash + 1));
    const max = family === 'ipv4' ? 32 : 128;
    if (!Number.isInteger(bits) || bits < 0 || bits > max || !/^\d+$/.test(match.slice(slash + 1))) {
      throw new Error(`client ${JSON.stringify(match)} has a bad prefix length`);
    }
    list.addSubnet(ip, bits, family);
  }
  return (addr: string) => {
    if (isIPv4(addr)) return family === 'ipv4' && list.check(addr, 'ipv4');
    if (isIPv6(addr)) return family === 'ipv6' && list.check(addr, 'ipv6');
    return false;
  };
}

/** Exports by path and by id; replaced whole by NfsServer.setExports. */
export class ExportTable {
  readonly byPath = new Map<string, Export>();
  readonly byId = new Map<number, Export>();

  constructor(specs: ExportSpec[]) {
    for (const s of specs) {
      const e = new Export(s);
      if (this.byPath.has(e.path)) throw new Error(`export ${e.path} is listed twice`);
      if (this.byId.has(e.id)) throw new Error(`exports ${e.path} and ${this.byId.get(e.id)!.path} have the same id ${e.id}`);
      this.byPath.set(e.path, e);
      this.byId.set(e.id, e);
    }
  }

  get all(): Export[] {
    return [...this.byPath.values()];
  }
}
