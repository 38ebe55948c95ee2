/**
 * API load benchmark (`npm run bench:api`): a real cairnd (child process,
 * temp data dir), set up through the API, 20 shares and 10 users; then
 * autocannon drives 50 concurrent connections over the read routes while a
 * steady stream of share changes (create, patch, delete: about 10/s) runs
 * beside them. Prints p50/p99 latency and requests/s for both. A benchmark
 * prints numbers; it asserts nothing about them.
 *   BENCH_SECONDS=10 BENCH_CONNECTIONS=50 npm run bench:api
 */
import autocannon from 'autocannon';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCairnd } from '../helpers/cairnd.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const changeEveryMs = Number(process.env.BENCH_CHANGE_EVERY_MS ?? 100);

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-bench-'));
  const d = await startCairnd(['--data-dir', dir, '--host', '127.0.0.1', '--port', '0']).catch(async (e) => {
    await rm(dir, { recursive: true, force: true });
    throw e;
  });
  try {
    const token = (await readFile(join(dir, 'setup-token'), 'utf8')).trim();
    const setup = await fetch(`${d.url}/api/v1/setup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, password: 'bench-admin-password' }) });
    const cookies = setup.headers.getSetCookie().map((c) => c.split(';')[0]!);
    const csrf = cookies.find((c) => c.startsWith('cairn_csrf='))!.split('=')[1]!;
    const mk = await fetch(`${d.url}/api/v1/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: cookies.join('; '), 'x-csrf-token': csrf },
      body: JSON.stringify({ name: 'bench', role: 'admin' }),
    });
    const apiToken = ((await mk.json()) as { token: string }).token;
    const auth = { authorization: `Bearer ${apiToken}` };
    const api = (method: string, path: string, body?: unknown) =>
      fetch(`${d.url}${path}`, {
        method,
        headers: body !== undefined ? { ...auth, 'content-type': 'application/json' } : auth,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    for (let i = 0; i < 10; i++) await api('POST', '/api/v1/users', { name: `user${i}`, password: `password-${i}-long` });
    for (let i = 0; i < 20; i++) {
      await api('POST', '/api/v1/shares', { name: `share${i}`, nfs: { enabled: true, clients: [{ match: `10.${i}.0.0/16` }] }, smb: { enabled: true, validUsers: [`user${i % 10}`] } });
    }

    // The stream of changes, beside the read load.
    const changeMs: number[] = [];
    let changeErrors = 0;
    let stop = false;
    const changes = (async () => {
      for (let n = 0; !stop; n++) {
        const started = performance.now();
        const name = `churn${n >> 1}`;
        const res = n % 2 === 0 ? await api('POST', '/api/v1/shares', { name, smb: { enabled: true } }) : await api('DELETE', `/api/v1/shares/${name}`);
        if (!res.ok) {
          changeErrors++;
          if (changeErrors <= 3) process.stderr.write(`change failed: ${res.status} ${await res.text()}\n`);
        } else await res.arrayBuffer();
        changeMs.push(performance.now() - started);
        const patch = await api('PATCH', `/api/v1/shares/share${n % 20}`, { smb: { readOnly: n % 4 < 2 } });
        await patch.arrayBuffer();
        changeMs.push(performance.now() - started - changeMs.at(-1)!);
        await new Promise((r) => setTimeout(r, changeEveryMs));
      }
    })();

    /** CPU seconds cairnd has used (utime + stime from /proc/PID/stat): load-independent cost. */
    const cpu = async () => {
      const f = (await readFile(`/proc/${d.proc.pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
      return (Number(f[11]) + Number(f[12])) / 100;
    };
    const cpuBefore = await cpu();
    const reads = ['/api/v1/shares', '/api/v1/pools', '/api/v1/users', '/api/v1/status', '/api/v1/shares/share7', '/api/v1/health', '/api/v1/settings'];
    const result = await autocannon({
      url: d.url,
      connections,
      duration: seconds,
      headers: { authorization: `Bearer ${apiToken}` },
      requests: reads.map((path) => ({ method: 'GET' as const, path })),
    });
    stop = true;
    await changes;
    const cpuUsed = (await cpu()) - cpuBefore;
    const served = result.requests.total + changeMs.length;

    const sorted = [...changeMs].sort((a, b) => a - b);
    const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
    const lines = [
      `cairn API benchmark: ${connections} connections on ${reads.length} read routes for ${seconds} s, plus share changes every ${changeEveryMs} ms`,
      `reads:   ${Math.round(result.requests.average)} req/s   p50 ${result.latency.p50} ms   p99 ${result.latency.p99} ms   max ${result.latency.max} ms   non-2xx ${result.non2xx}   errors ${result.errors}`,
      `cairnd CPU: ${cpuUsed.toFixed(1)} s for ${served} requests = ${((cpuUsed * 1000) / served).toFixed(2)} ms CPU per request (load average now ${(await import('node:os')).loadavg()[0]!.toFixed(1)} on ${(await import('node:os')).cpus().length} cores)`,
      `changes: ${(changeMs.length / seconds).toFixed(1)} /s   p50 ${pct(50).toFixed(1)} ms   p99 ${pct(99).toFixed(1)} ms   failed ${changeErrors}   (create/delete + patch, each a fsynced revision)`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await d.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
