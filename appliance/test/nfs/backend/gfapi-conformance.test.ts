// The gfapi backend against the shared Backend conformance suite, on a real
// replica-3 volume: one glusterd namespace and volume for the file, a fresh
// export directory (subdir) per test. A general-purpose volume (no `virt`
// group): with sharding on, Gluster ignores setting a file's times to an
// earlier value (gluster issue 853, won't fix), which the suite checks.
import { after, before } from 'node:test';
import { GlusterLab, replica3 } from '../../pool/gluster/lab.js';
import { openGfapiBackend } from '../../../src/nfs/backend/gfapi/index.js';
import type { Backend } from '../../../src/nfs/backend/backend.js';
import { backendConformance, ROOT } from './conformance.js';

let lab: GlusterLab | undefined;
let base: Backend | undefined;
let n = 0;
const cleanups: Array<() => Promise<void>> = [];

before(async () => {
  // GlusterLab registers its teardown on the context it is given.
  const ctx = { after: (fn: () => Promise<void>) => cleanups.push(fn) } as unknown as import('node:test').TestContext;
  lab = await GlusterLab.start(ctx);
  await replica3(lab, 'conf', 512 << 20, 'general');
  base = await openGfapiBackend({ volume: 'conf', volfileServer: lab.host });
});

after(async () => {
  for (const c of cleanups.reverse()) await c();
});

backendConformance('gfapi', async () => {
  const dir = `t${++n}`;
  await base!.mkdir(ROOT, await base!.root(), dir, { mode: 0o777 });
  await base!.setattr(ROOT, (await base!.lookup(ROOT, await base!.root(), dir)).handle, { mode: 0o777 });
  return openGfapiBackend({ volume: 'conf', volfileServer: lab!.host, subdir: `/${dir}` });
});
