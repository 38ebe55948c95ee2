/**
 * cairnctl: the command line over cairnd's REST API.
 *   cairnctl [--url URL] [--token-file FILE] [--json] COMMAND [ARGS]
 * The URL comes from --url, $CAIRN_URL, or http://127.0.0.1:8080; the API
 * token from --token-file, $CAIRN_TOKEN, or $CAIRN_TOKEN_FILE (create one in
 * the console or with POST /api/v1/tokens). Human tables by default, the
 * API's JSON with --json. Exit codes: 0 ok, 1 the API refused, 64 usage,
 * 69 cairnd unreachable, 77 not allowed (token missing/wrong/role).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const USAGE = `usage: cairnctl [--url URL] [--token-file FILE] [--json] COMMAND [ARGS]

commands:
  health                          health of the appliance (no token needed)
  status                          reconcile status: what could not be done, and why
  pools                           pools with capacity
  shares [list]                   shares
  shares create NAME [--pool ID] [--path PATH] [--nfs MATCH[:ro]]... [--smb]
  shares delete NAME
  users                           users and their roles
  history [--limit N]             revisions of the configuration, newest first
  rollback REVISION               make REVISION's configuration current again (a new revision)
  cluster                         the appliances of this cluster, their health and bricks
  cluster join-token              show a token on this appliance, to add it from another one
  cluster add ADDRESS TOKEN       add the appliance at ADDRESS (host[:port] or URL) showing TOKEN
  cluster remove NAME             remove an appliance (its bricks move first, as a task; refused when they have nowhere to go)
  cluster smb                     clustered SMB (CTDB): on or off, NetBIOS name, public addresses, PNN table
  cluster smb on NAME ADDR/PREFIX@IFACE...   clustered SMB as NAME on these floating addresses (every appliance)
  cluster smb off                 back to one SMB server per appliance (name and addresses are kept)

The API token comes from --token-file, $CAIRN_TOKEN or $CAIRN_TOKEN_FILE.`;

const EXIT = { ok: 0, refused: 1, usage: 64, unavailable: 69, noperm: 77 } as const;

class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

interface Options {
  base: string;
  token: string | undefined;
  json: boolean;
}

interface ApiErrorBody {
  error?: { code: string; message: string; fields?: Array<{ path: string; message: string }> };
}

async function call(o: Options, method: string, path: string, body?: unknown): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`${o.base}${path}`, {
      method,
      headers: { ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
    throw new CliError(`cannot reach cairnd at ${o.base} (${cause}): is it running? (--url or $CAIRN_URL)`, EXIT.unavailable);
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  // Health answers its report with 503 when failed; elsewhere 503 is an error body.
  const isReport = res.status === 503 && !(parsed as ApiErrorBody | null)?.error;
  if (!res.ok && !isReport) {
    const err = (parsed as ApiErrorBody).error;
    const fields = (err?.fields ?? []).map((f) => `\n  ${f.path || '(body)'}: ${f.message}`).join('');
    let msg = `${err?.message ?? `HTTP ${res.status}`}${fields}`;
    if (res.status === 401 && !o.token) msg += ' (no token: pass --token-file or set $CAIRN_TOKEN)';
    const code = res.status === 503 ? EXIT.unavailable : (res.status === 401 || res.status === 403) && err?.code !== 'join_token_invalid' && err?.code !== 'join_token_expired' ? EXIT.noperm : EXIT.refused;
    throw new CliError(msg, code);
  }
  return parsed;
}

/** Left-aligned columns; the header row first. */
export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

const gib = (n: number) => `${(n / 2 ** 30).toFixed(1)} GiB`;

function readToken(file: string | undefined): string | undefined {
  const path = file ?? process.env.CAIRN_TOKEN_FILE;
  if (path) {
    try {
      return readFileSync(path, 'utf8').trim();
    } catch (e) {
      throw new CliError(`cannot read the token file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, EXIT.usage);
    }
  }
  return process.env.CAIRN_TOKEN?.trim() || undefined;
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** "10.0.0.100/24@eth0" → a public address of PUT /cluster/smb. */
function parsePublicAddress(a: string): { address: string; prefix: number; interfaces: string[] } {
  const m = /^([^/@\s]+)\/(\d{1,3})@([^@\s]+)$/.exec(a);
  if (!m) throw new CliError(`public address ${JSON.stringify(a)} is not ADDRESS/PREFIX@INTERFACE (e.g. 10.0.0.100/24@eth0)`, EXIT.usage);
  return { address: m[1]!, prefix: Number(m[2]), interfaces: m[3]!.split(',') };
}

async function clusterSmb(o: Options, print: (data: unknown, human: () => string) => void, args: string[]): Promise<number> {
  const [verb, name, ...addrs] = args;
  const show = (r: Json) =>
    print(r, () => {
      const pub = (r.publicAddresses as Json[]).map((a) => `${a.address}/${a.prefix}@${(a.interfaces as string[]).join(',')}`).join(' ') || '-';
      const nodes = (r.nodes as (string | null)[]).map((n, i) => `${i}:${n ?? '(removed)'}`).join(' ') || '-';
      return `clustered SMB ${r.enabled ? 'on' : 'off'}, NetBIOS name ${r.netbiosName}
public addresses: ${pub}
PNN table: ${nodes}
`;
    });
  if (verb === undefined) {
    show((await call(o, 'GET', '/api/v1/cluster/smb')) as Json);
    return 0;
  }
  if (verb === 'on') {
    if (!name || addrs.length === 0) throw new CliError('cluster smb on needs a NetBIOS NAME and at least one ADDRESS/PREFIX@INTERFACE', EXIT.usage);
    show((await call(o, 'PUT', '/api/v1/cluster/smb', { enabled: true, netbiosName: name, publicAddresses: addrs.map(parsePublicAddress) })) as Json);
    return 0;
  }
  if (verb === 'off') {
    if (name !== undefined) throw new CliError('cluster smb off takes no arguments', EXIT.usage);
    const cur = (await call(o, 'GET', '/api/v1/cluster/smb')) as Json;
    show((await call(o, 'PUT', '/api/v1/cluster/smb', { enabled: false, netbiosName: cur.netbiosName, publicAddresses: cur.publicAddresses })) as Json);
    return 0;
  }
  throw new CliError(`unknown cluster smb command ${JSON.stringify(verb)}: on or off`, EXIT.usage);
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        url: { type: 'string' },
        json: { type: 'boolean' },
        'token-file': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        pool: { type: 'string' },
        path: { type: 'string' },
        nfs: { type: 'string', multiple: true },
        smb: { type: 'boolean' },
        limit: { type: 'string' },
      },
      allowPositionals: true,
    });
  } catch (e) {
    process.stderr.write(`cairnctl: ${(e as Error).message.split('\n')[0]}\n${USAGE}\n`);
    return EXIT.usage;
  }
  const { values: v, positionals } = parsed;
  if (v.help || positionals.length === 0) {
    process.stdout.write(`${USAGE}\n`);
    return v.help ? 0 : EXIT.usage;
  }
  const out = (s: string) => process.stdout.write(s);
  try {
    const o: Options = {
      base: (v.url ?? process.env.CAIRN_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, ''),
      token: readToken(v['token-file']),
      json: !!v.json,
    };
    const [command, sub, arg, arg2] = positionals;
    const print = (data: unknown, human: () => string) => out(o.json ? `${JSON.stringify(data, null, 2)}\n` : human());
    switch (command) {
      case 'health': {
        const r = (await call(o, 'GET', '/api/v1/health')) as Json;
        print(r, () => {
          let s = `cairn ${r.version}: ${r.status} (up ${r.uptimeSeconds}s)\n`;
          for (const [name, c] of Object.entries(r.components as Record<string, Json>)) s += `  ${name.padEnd(12)} ${c.status}${c.detail ? `  ${c.detail}` : ''}\n`;
          return s;
        });
        return r.status === 'ok' ? 0 : 1;
      }
      case 'status': {
        const r = (await call(o, 'GET', '/api/v1/status')) as Json;
        const rec = r.reconcile as Json;
        print(r, () => {
          let s = `revision ${r.revision} (applied ${rec.appliedRevision ?? '-'}), reconcile ${rec.phase}${rec.nextRetryAt ? `, retry at ${rec.nextRetryAt}` : ''}\n`;
          s += table([['DRIVER', 'OK', 'PROBLEMS', 'SUMMARY'], ...(rec.drivers as Json[]).map((d) => [d.name, d.ok ? 'yes' : 'no', String(d.problems.length), d.error ?? d.summary ?? ''])]);
          if ((rec.problems as Json[]).length) {
            s += '\n' + table([['DRIVER', 'OBJECT', 'PROBLEM'], ...(rec.problems as Json[]).map((p) => [p.driver, `${p.objectKind} ${p.objectId}`, p.message])]);
          }
          return s;
        });
        return (rec.problems as Json[]).length ? 1 : 0;
      }
      case 'pools': {
        const r = (await call(o, 'GET', '/api/v1/pools')) as Json;
        print(r, () =>
          table([
            ['ID', 'KIND', 'LABEL', 'SIZE', 'FREE', 'WHERE'],
            ...(r.items as Json[]).map((p) => [
              p.id,
              p.kind,
              p.label,
              p.capacity ? gib(p.capacity.totalBytes) : '-',
              p.capacity ? gib(p.capacity.freeBytes) : '-',
              p.kind === 'local' ? p.path : `${p.bricks.length} bricks, replica ${p.replica}${p.arbiter ? ' + arbiter' : ''}`,
            ]),
          ]),
        );
        return 0;
      }
      case 'shares': {
        if (sub === undefined || sub === 'list') {
          const r = (await call(o, 'GET', '/api/v1/shares')) as Json;
          print(r, () =>
            table([
              ['NAME', 'POOL', 'PATH', 'NFS', 'SMB', 'PROBLEMS'],
              ...(r.items as Json[]).map((s) => [
                s.name,
                s.volume ? `${s.pool}/${s.volume}` : s.pool,
                s.path,
                s.nfs.enabled ? (s.nfs.clients as Json[]).map((c) => `${c.match}(${c.access})`).join(',') : 'off',
                s.smb.enabled ? (s.smb.readOnly ? 'ro' : 'rw') : 'off',
                (s.problems as Json[]).map((p) => p.message).join('; ') || '-',
              ]),
            ]),
          );
          return 0;
        }
        if (sub === 'create') {
          if (!arg) throw new CliError('shares create needs a NAME', EXIT.usage);
          const clients = (v.nfs ?? []).map((spec) => {
            const [match, access] = spec.split(':');
            if (access !== undefined && access !== 'ro' && access !== 'rw') throw new CliError(`--nfs ${spec}: the access after ':' must be ro or rw`, EXIT.usage);
            return { match, access: access ?? 'rw' };
          });
          const body = {
            name: arg,
            ...(v.pool ? { pool: v.pool } : {}),
            ...(v.path ? { path: v.path } : {}),
            ...(clients.length ? { nfs: { enabled: true, clients } } : {}),
            ...(v.smb ? { smb: { enabled: true } } : {}),
          };
          const r = (await call(o, 'POST', '/api/v1/shares', body)) as Json;
          print(r, () => `created share ${r.name} in pool ${r.pool} at ${r.path}${r.nfs.enabled ? ', NFS on' : ''}${r.smb.enabled ? ', SMB on' : ''}\n`);
          return 0;
        }
        if (sub === 'delete') {
          if (!arg) throw new CliError('shares delete needs a NAME', EXIT.usage);
          await call(o, 'DELETE', `/api/v1/shares/${encodeURIComponent(arg)}`);
          print({ deleted: arg }, () => `deleted share ${arg} (its files stay in the pool)\n`);
          return 0;
        }
        throw new CliError(`unknown shares command ${JSON.stringify(sub)}: list, create or delete`, EXIT.usage);
      }
      case 'users': {
        const r = (await call(o, 'GET', '/api/v1/users')) as Json;
        print(r, () =>
          table([
            ['NAME', 'UID', 'ROLE', 'ENABLED', 'GROUPS', 'FULL NAME'],
            ...(r.items as Json[]).map((u) => [u.name, String(u.uid), u.role ?? '-', u.enabled ? 'yes' : 'no', (u.groups as string[]).join(',') || '-', u.fullName]),
          ]),
        );
        return 0;
      }
      case 'history': {
        const limit = v.limit ?? '20';
        if (!/^\d+$/.test(limit)) throw new CliError(`--limit ${JSON.stringify(limit)} is not a number`, EXIT.usage);
        const r = (await call(o, 'GET', `/api/v1/state/history?limit=${limit}`)) as Json;
        print(r, () =>
          table([
            ['REV', 'WHEN', 'WHO', 'WHAT', 'CHANGES'],
            ...(r.items as Json[]).map((h) => [String(h.revision), h.at.replace('T', ' ').slice(0, 19), h.who, h.message, String(h.diff.length)]),
          ]),
        );
        return 0;
      }
      case 'rollback': {
        if (!sub || !/^\d+$/.test(sub)) throw new CliError('rollback needs a REVISION number (see cairnctl history)', EXIT.usage);
        const r = (await call(o, 'POST', '/api/v1/state/rollback', { revision: Number(sub) })) as Json;
        print(r, () => `rolled back to revision ${sub}: now revision ${r.revision} (${r.diff.length} change(s))\n`);
        return 0;
      }
      case 'cluster': {
        if (sub === undefined || sub === 'list') {
          const r = (await call(o, 'GET', '/api/v1/cluster')) as Json;
          print(r, () => {
            let s = r.clusterId ? `cluster ${r.clusterId} (since ${String(r.joinedAt).replace('T', ' ').slice(0, 19)})\n` : `${r.hostname} is not in a cluster yet\n`;
            s += table([
              ['APPLIANCE', 'HEALTH', 'STATE', 'BRICKS'],
              ...(r.members as Json[]).map((m) => [`${m.hostname}${m.self ? ' (this)' : ''}`, m.health, m.state, (m.bricks as string[]).join(', ') || '-']),
            ]);
            return s;
          });
          return (r.members as Json[]).every((m) => m.health === 'ok') ? 0 : 1;
        }
        if (sub === 'join-token') {
          const r = (await call(o, 'POST', '/api/v1/cluster/join-token')) as Json;
          print(r, () => `join token: ${r.token}\n(valid once, until ${r.expiresAt}; on an appliance of the cluster: cairnctl cluster add THIS-ADDRESS ${r.token})\n`);
          return 0;
        }
        if (sub === 'add') {
          if (!arg || !arg2) throw new CliError('cluster add needs an ADDRESS and the TOKEN shown on that appliance', EXIT.usage);
          const r = (await call(o, 'POST', '/api/v1/cluster/members', { address: arg, token: arg2 })) as Json;
          print(r, () => `added ${r.hostname} (${r.health})\n`);
          return 0;
        }
        if (sub === 'remove') {
          if (!arg) throw new CliError('cluster remove needs the NAME of an appliance (see cairnctl cluster)', EXIT.usage);
          const r = (await call(o, 'DELETE', `/api/v1/cluster/members/${encodeURIComponent(arg)}`)) as Json | null;
          // 202: its bricks move first, in a task that detaches it at the end.
          if (r && typeof r.id === 'string') print(r, () => `moving the bricks of ${arg} first: task ${r.id} (GET /api/v1/tasks/${r.id}); it is detached when they are healed\n`);
          else print({ removed: arg }, () => `removed ${arg} from the cluster\n`);
          return 0;
        }
        if (sub === 'smb') return await clusterSmb(o, print, positionals.slice(2));
        throw new CliError(`unknown cluster command ${JSON.stringify(sub)}: list, join-token, add, remove or smb`, EXIT.usage);
      }
      default:
        throw new CliError(`unknown command ${JSON.stringify(command)}`, EXIT.usage);
    }
  } catch (e) {
    if (e instanceof CliError) {
      process.stderr.write(`cairnctl: ${e.message}\n${e.exitCode === EXIT.usage ? `${USAGE}\n` : ''}`);
      return e.exitCode;
    }
    throw e;
  }
}
