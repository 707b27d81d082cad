// GET /metrics: the Prometheus scrape, open like every read.

import type { RouteTable } from '../http/own-routes.ts';
import type { Metrics } from './metrics.ts';

export const metricsRoutes = (metrics: Metrics): RouteTable => ({
  '/metrics': {
    get: async (_req, res) => {
      res.type(metrics.contentType).send(await metrics.text());
    },
  },
});
