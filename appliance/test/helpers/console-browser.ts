/**
 * Debian's Chromium driven by playwright-core for the console's end-to-end
 * tests and benchmark. Started headless with a fresh profile and the flags
 * that keep it from reaching the outside world (shared/FACTS.md, Browser);
 * closed and its profile removed by the caller's t.after.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** test-artifacts/console/ at the repository root (gitignored). */
export const CONSOLE_ARTIFACTS = fileURLToPath(new URL('../../../../test-artifacts/console/', import.meta.url));

export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];

export interface ConsoleBrowser {
  context: BrowserContext;
  page: Page;
  /** Saves a full-page PNG as test-artifacts/console/<name>.png. */
  shot(name: string, page?: Page): Promise<void>;
  close(): Promise<void>;
}

export async function launchConsoleBrowser(viewport = { width: 1280, height: 800 }): Promise<ConsoleBrowser> {
  const profile = await mkdtemp(join(tmpdir(), 'cairn-chromium-'));
  await mkdir(CONSOLE_ARTIFACTS, { recursive: true });
  let context: BrowserContext;
  try {
    // A persistent context is how playwright takes a --user-data-dir of our choosing.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport,
      timeout: 30_000,
    });
  } catch (e) {
    await rm(profile, { recursive: true, force: true });
    throw e;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(20_000);
  return {
    context,
    page,
    async shot(name, p = page) {
      await p.screenshot({ path: join(CONSOLE_ARTIFACTS, `${name}.png`), fullPage: true });
    },
    async close() {
      await context.close().catch(() => {});
      await rm(profile, { recursive: true, force: true });
    },
  };
}
