/**
 * cairnctl: the command line over cairnd's REST API.
 *   cairnctl [--url URL] [--json] health
 * The URL comes from --url, $CAIRN_URL, or http://127.0.0.1:8080.
 */
import { parseArgs } from 'node:util';

const USAGE = `usage: cairnctl [--url URL] [--json] COMMAND

commands:
  health    health of the appliance and its components`;

interface HealthReport {
  status: string;
  version: string;
  uptimeSeconds: number;
  components: Record<string, { status: string; detail?: string }>;
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { url: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    });
  } catch (e) {
    process.stderr.write(`cairnctl: ${(e as Error).message.split('\n')[0]}\n${USAGE}\n`);
    return 64;
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 64;
  }
  const base = (values.url ?? process.env.CAIRN_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  const [command] = positionals;
  if (command !== 'health') {
    process.stderr.write(`cairnctl: unknown command ${JSON.stringify(command)}\n${USAGE}\n`);
    return 64;
  }
  let res: Response;
  try {
    res = await fetch(`${base}/api/v1/health`, { signal: AbortSignal.timeout(10_000) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
    process.stderr.write(`cairnctl: cannot reach cairnd at ${base} (${cause}): is it running? (--url or $CAIRN_URL)\n`);
    return 69;
  }
  const report = (await res.json()) as HealthReport;
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    process.stdout.write(`cairn ${report.version}: ${report.status} (up ${report.uptimeSeconds}s)\n`);
    for (const [name, c] of Object.entries(report.components)) {
      process.stdout.write(`  ${name.padEnd(12)} ${c.status}${c.detail ? `  ${c.detail}` : ''}\n`);
    }
  }
  return report.status === 'ok' ? 0 : 1;
}
