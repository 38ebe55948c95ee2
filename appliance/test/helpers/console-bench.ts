/**
 * `npm run bench:console`: the built console's size (raw and gzipped, as
 * served) and how fast it paints in Debian's Chromium against a real cairnd
 * on a fresh data directory (the first-boot page). Prints numbers; asserts
 * nothing. Each load is a fresh page with the HTTP cache disabled, so every
 * run fetches index.html, the JS and the CSS again.
 */
import { readdir, readFile, mkdtemp, rm } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCairnd } from './cairnd.js';
import { launchConsoleBrowser } from './console-browser.js';

const DIST = fileURLToPath(new URL('../../../../web-ui/dist/', import.meta.url));
const LOADS = Number(process.env.CONSOLE_BENCH_LOADS ?? 7);

async function sizes(): Promise<void> {
  const assets = join(DIST, 'assets');
  let files: string[];
  try {
    files = (await readdir(assets)).sort();
  } catch {
    throw new Error(`no built console in ${DIST}: run npm run build -w web-ui`);
  }
  const rows: Array<[string, number, number]> = [];
  for (const f of files) {
    const buf = await readFile(join(assets, f));
    rows.push([f, buf.length, gzipSync(buf, { level: 9 }).length]);
  }
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  console.log('console build (web-ui/dist/assets):');
  for (const [f, raw, gz] of rows) console.log(`  ${f.padEnd(32)} ${kb(raw).padStart(10)} raw ${kb(gz).padStart(10)} gzip`);
  const js = rows.filter(([f]) => f.endsWith('.js'));
  const jsRaw = js.reduce((n, r) => n + r[1], 0);
  const jsGz = js.reduce((n, r) => n + r[2], 0);
  console.log(`  JavaScript total: ${kb(jsRaw)} raw, ${kb(jsGz)} gzipped (budget 200 KiB gzipped)`);
}

interface Timing {
  firstPaint: number;
  firstContentfulPaint: number;
  domContentLoaded: number;
  load: number;
  firstView: number;
  ready: number;
}

function stats(xs: number[]): string {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return 'no samples';
  const med = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return `median ${med.toFixed(0).padStart(4)} ms  min ${s[0]!.toFixed(0).padStart(4)}  max ${s[s.length - 1]!.toFixed(0).padStart(4)}`;
}

async function paints(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-console-bench-'));
  const d = await startCairnd(['--data-dir', dir, '--host', '127.0.0.1', '--port', '0']).catch(async (e: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw e;
  });
  const b = await launchConsoleBrowser();
  try {
    const timings: Timing[] = [];
    for (let i = 0; i < LOADS + 1; i++) {
      const page = await b.context.newPage();
      const cdp = await b.context.newCDPSession(page);
      await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
      await page.goto(`${d.url}/`, { waitUntil: 'load' });
      await page.getByRole('heading', { name: 'Set up Cairn' }).waitFor();
      // The app marks its first view in the next animation frame: wait for it.
      await page.waitForFunction(`performance.getEntriesByName('cairn-first-view').length > 0`);
      const t = (await page.evaluate(`(() => {
        const p = Object.fromEntries(performance.getEntriesByType('paint').map((e) => [e.name, e.startTime]));
        const n = performance.getEntriesByType('navigation')[0];
        return { firstPaint: p['first-paint'] ?? NaN, firstContentfulPaint: p['first-contentful-paint'] ?? NaN,
                 domContentLoaded: n.domContentLoadedEventEnd, load: n.loadEventEnd,
                 firstView: performance.getEntriesByName('cairn-first-view')[0]?.startTime ?? NaN, ready: performance.now() };
      })()`)) as Timing;
      await page.close();
      if (i > 0) timings.push(t); // the first load warms Chromium itself up
    }
    console.log(`first-boot page in Chromium (${LOADS} cold-cache loads from cairnd on loopback, after one warm-up):`);
    console.log(`  first paint               ${stats(timings.map((t) => t.firstPaint))}`);
    console.log(`  first contentful paint    ${stats(timings.map((t) => t.firstContentfulPaint))}   (target < 1000 ms)`);
    console.log(`  DOMContentLoaded          ${stats(timings.map((t) => t.domContentLoaded))}`);
    console.log(`  load                      ${stats(timings.map((t) => t.load))}`);
    console.log(`  setup form rendered       ${stats(timings.map((t) => t.firstView))}   (app mark after GET /api/v1/setup)`);
    console.log(`  seen by the test driver   ${stats(timings.map((t) => t.ready))}   (upper bound, includes playwright round trips)`);
  } finally {
    await b.close();
    await d.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await sizes();
await paints();
