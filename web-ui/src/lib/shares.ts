/** What an admin copies to reach a share: the NFS mount command, the SMB UNC path. */

/** IPv6 literals need brackets in host:path syntax. */
function hostPart(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** `mount -t nfs -o vers=3 HOST:/path /mnt` (with port options when the server is not on 2049). */
export function nfsMountCommand(host: string, exportPath: string, opts: { port?: number; mountPoint?: string } = {}): string {
  const path = exportPath.startsWith('/') ? exportPath : `/${exportPath}`;
  const o = ['vers=3'];
  if (opts.port && opts.port !== 2049) o.push('proto=tcp', `port=${opts.port}`, `mountport=${opts.port}`);
  return `mount -t nfs -o ${o.join(',')} ${hostPart(host)}:${path} ${opts.mountPoint ?? '/mnt'}`;
}

/** `\\HOST\name` */
export function uncPath(host: string, shareName: string): string {
  return `\\\\${host}\\${shareName}`;
}

/** `smb://HOST/name` for macOS Finder's Connect to Server. */
export function smbUrl(host: string, shareName: string): string {
  return `smb://${hostPart(host)}/${encodeURIComponent(shareName)}`;
}

/** The hostname part of an origin like http://nas.local:8080 → "nas.local". */
export function hostFromLocation(hostname: string): string {
  return hostname.replace(/^\[|\]$/g, '') || 'cairn';
}

/** Splits a text area of client networks (one per line, or commas) into a list. */
export function splitList(text: string): string[] {
  return text
    .split(/[\n,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}
