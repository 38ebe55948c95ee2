/**
 * The Fastify application: the REST API under /api/v1 (and later the
 * console's static files). Built without listening, so tests use
 * `app.inject`.
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { Logger } from '../log.js';
import type { Health } from '../system/health.js';
import { healthRoutes } from './routes/health.js';

export interface AppDeps {
  log: Logger;
  health: Health;
  /** The built console (web-ui/dist); served at / when it exists. */
  consoleDir?: string;
}

export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../../../web-ui/dist', import.meta.url));

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log,
    bodyLimit: 1024 * 1024,
    // Per-request lines are logged at debug by the hook below, not at info.
    logController: new LogController({ disableRequestLogging: true }),
  });
  app.addHook('onResponse', async (req, reply) => {
    req.log.debug({ method: req.method, url: req.url, status: reply.statusCode, ms: reply.elapsedTime }, 'request');
  });
  await app.register(healthRoutes(deps.health), { prefix: '/api/v1' });

  const consoleDir = deps.consoleDir ?? DEFAULT_CONSOLE_DIR;
  if (existsSync(`${consoleDir}/index.html`)) {
    await app.register(fastifyStatic, { root: consoleDir, prefix: '/', index: ['index.html'], wildcard: true });
  } else {
    deps.log.warn({ consoleDir }, 'console not built (npm run build -w web-ui): serving the API only');
    app.get('/', { config: { public: true } }, async (_req, reply) =>
      reply.type('text/plain').send('Cairn: the console is not built. The API is under /api/v1.\n'),
    );
  }
  return app as unknown as FastifyInstance;
}
