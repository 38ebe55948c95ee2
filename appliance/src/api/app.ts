/**
 * The Fastify application: the REST API under /api/v1, /metrics, the
 * OpenAPI document (/api/v1/openapi.json, generated from the route schemas)
 * with its docs page (/api/docs), and the console's static files at /.
 * Built without listening, so tests use `app.inject`.
 *
 * Order: error handlers and auth hooks on the root (they must see every
 * route), swagger (collects routes as they are added), then one plugin per
 * domain.
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import fastifyCookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { VERSION } from '../version.js';
import type { ApiContext } from './context.js';
import { ErrorSchema, installErrorHandlers } from './errors.js';
import { installAuth } from './plugins/auth.js';
import { clusterRoutes } from './routes/cluster.js';
import { groupRoutes } from './routes/groups.js';
import { healthRoutes } from './routes/health.js';
import { poolRoutes } from './routes/pools.js';
import { sessionRoutes } from './routes/sessions.js';
import { settingsRoutes } from './routes/settings.js';
import { poolTaskRoutes } from './routes/pool-tasks.js';
import { replicationRoutes } from './routes/replication.js';
import { sharesRoutes } from './routes/shares.js';
import { stateRoutes } from './routes/state.js';
import { metricsRoute, systemRoutes } from './routes/system.js';
import { tokenRoutes } from './routes/tokens.js';
import { usersRoutes } from './routes/users.js';

export interface AppDeps extends ApiContext {
  /** The built console (web-ui/dist); served at / when it exists. */
  consoleDir?: string;
}

/** One row per route, as registered: the route-table test walks it. */
export interface RouteRow {
  method: string;
  url: string;
  access: 'public' | 'read' | 'admin';
  hasResponseSchema: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    routeTable: RouteRow[];
  }
}

export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../../../web-ui/dist', import.meta.url));

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log,
    bodyLimit: 1024 * 1024,
    // Per-request lines are logged at debug by the hook below, not at info.
    logController: new LogController({ disableRequestLogging: true }),
  });
  // Bodies are JSON and validated as sent (no coercion: `null` must not
  // become 0, "true" must not become true); query strings and params are
  // text and coerced. Every error is collected, unknown fields refused.
  const bodyAjv = new Ajv({ allErrors: true, removeAdditional: false, useDefaults: true, coerceTypes: false, strict: false });
  const textAjv = new Ajv({ allErrors: true, removeAdditional: false, useDefaults: true, coerceTypes: 'array', strict: false });
  for (const a of [bodyAjv, textAjv]) addFormats.default(a);
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodyAjv : textAjv).compile(schema));
  app.addHook('onResponse', async (req, reply) => {
    req.log.debug({ method: req.method, url: req.url, status: reply.statusCode, ms: reply.elapsedTime }, 'request');
    const route = req.routeOptions.url ?? 'unmatched';
    deps.metrics.apiLatency.observe({ method: req.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
  // Every API route answers errors in the one catalog shape.
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/api/v1') && route.url !== '/metrics') return;
    const schema = (route.schema ??= {}) as { response?: Record<string, unknown> };
    schema.response = { '4xx': ErrorSchema, '5xx': ErrorSchema, ...(schema.response ?? {}) };
  });
  installErrorHandlers(app as unknown as FastifyInstance);
  await app.register(fastifyCookie);
  installAuth(app as unknown as FastifyInstance, deps);
  const table: RouteRow[] = [];
  app.decorate('routeTable', table);
  app.addHook('onRoute', (route) => {
    const response = (route.schema as { response?: Record<string, unknown> } | undefined)?.response ?? {};
    for (const method of [route.method].flat()) {
      table.push({
        method,
        url: route.url,
        access: (route.config as { access?: RouteRow['access'] } | undefined)?.access ?? 'admin',
        hasResponseSchema: Object.keys(response).some((k) => k.startsWith('2')),
      });
    }
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Cairn appliance API',
        version: VERSION,
        description:
          'Manage pools, shares (NFS and SMB), users and settings of a Cairn appliance. Errors: `{error: {code, message, fields}}`. ' +
          'Console sessions use cookies plus the X-CSRF-Token header on unsafe methods; scripts use `Authorization: Bearer cairn_…` tokens. ' +
          'Every change answers with the new state revision in the `Cairn-Revision` header; send `If-Match: "<revision>"` to have a change refused (409 conflict) when the state moved on meanwhile.',
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer' },
          cookieAuth: { type: 'apiKey', in: 'cookie', name: 'cairn_session' },
        },
      },
      security: [{ bearerAuth: [] }, { cookieAuth: [] }],
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/api/docs', staticCSP: true });

  await app.register(
    async (api) => {
      await api.register(healthRoutes(deps.health));
      await api.register(sessionRoutes(deps));
      await api.register(tokenRoutes(deps));
      await api.register(usersRoutes(deps));
      await api.register(groupRoutes(deps));
      await api.register(sharesRoutes(deps));
      await api.register(poolRoutes(deps));
      await api.register(poolTaskRoutes(deps));
      await api.register(settingsRoutes(deps));
      await api.register(stateRoutes(deps));
      await api.register(systemRoutes(deps));
      await api.register(clusterRoutes(deps));
      await api.register(replicationRoutes(deps));
      api.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
    },
    { prefix: '/api/v1' },
  );
  await app.register(metricsRoute(deps));

  const consoleDir = deps.consoleDir ?? DEFAULT_CONSOLE_DIR;
  if (existsSync(`${consoleDir}/index.html`)) {
    await app.register(fastifyStatic, { root: consoleDir, prefix: '/', index: ['index.html'], wildcard: true });
  } else {
    deps.log.warn({ consoleDir }, 'console not built (npm run build -w web-ui): serving the API only');
    app.get('/', { config: { access: 'public' } }, async (_req, reply) =>
      reply.type('text/plain').send('Cairn: the console is not built. The API is under /api/v1.\n'),
    );
  }
  return app as unknown as FastifyInstance;
}
