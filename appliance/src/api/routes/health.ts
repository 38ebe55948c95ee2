import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Health } from '../../system/health.js';

const Status = Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('failed')]);

export const HealthReportSchema = Type.Object(
  {
    status: Status,
    version: Type.String(),
    uptimeSeconds: Type.Integer({ minimum: 0 }),
    components: Type.Record(Type.String(), Type.Object({ status: Status, detail: Type.Optional(Type.String()) })),
  },
  { $id: 'HealthReport' },
);

/**
 * GET /api/v1/health — needs no login (load balancers and `cairnctl health`
 * poll it). 200 while the appliance serves, even degraded; 503 when failed.
 */
export function healthRoutes(health: Health): FastifyPluginAsync {
  return async (app) => {
    app.get(
      '/health',
      {
        config: { access: 'public' },
        schema: {
          summary: 'Health of the appliance and its components',
          tags: ['system'],
          response: { 200: HealthReportSchema, 503: HealthReportSchema },
        },
      },
      async (_req, reply) => {
        const report = await health.report();
        return reply.code(report.status === 'failed' ? 503 : 200).send(report);
      },
    );
  };
}
