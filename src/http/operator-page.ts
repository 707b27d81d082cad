// GET /balance-sync/: the operator page, static files served by the service itself.

import { Router } from 'express';

export function operatorPage(): Router {
  return Router();
}
