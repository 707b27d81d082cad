// GET /balance-sync/: the operator page, static files served by the service itself.

import { existsSync, readdirSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Router, type Response } from 'express';
import { noneMatchHits } from './conditional.ts';

const BASE = '/balance-sync';

// The page is plain files beside the sources; tsc does not copy them into dist/, so both the
// TypeScript sources and the compiled dist/src/http/ find them from the project root.
function projectRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error('the operator page cannot find the project root (no package.json above it)');
  }
}

// uPlot comes from node_modules through Node's own resolution, so a hoisted or nested install works.
function vendorFiles(): Map<string, string> {
  const require = createRequire(import.meta.url);
  return new Map([
    ['uPlot.esm.js', require.resolve('uplot/dist/uPlot.esm.js')],
    ['uPlot.min.css', require.resolve('uplot/dist/uPlot.min.css')],
  ]);
}

// no-cache: the browser revalidates every time (ETag/Last-Modified), so an upgrade shows at once.
// The CSP keeps the page on its own origin: no script, style or connection goes anywhere else.
function setPageHeaders(res: Response): void {
  res.set({
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    'Referrer-Policy': 'no-referrer',
  });
}

/** Whether an If-Modified-Since date is at or after the file's time (to the second, as HTTP dates go). */
function notModifiedSince(header: string | undefined, mtimeMs: number): boolean {
  const since = header === undefined ? Number.NaN : Date.parse(header);
  return Number.isFinite(since) && Math.floor(mtimeMs / 1000) * 1000 <= since;
}

/** The page's router, for mounting at `/balance-sync` (`app.use('/balance-sync', operatorPage())`). */
export function operatorPage(): Router {
  const router = Router();
  const pageDir = join(projectRoot(), 'src', 'operator-page');
  // The page is a fixed set of plain files: only these are served, by name, nothing else on disk.
  const files = new Map<string, string>([['/', join(pageDir, 'index.html')]]);
  for (const name of readdirSync(pageDir)) if (!name.startsWith('.')) files.set(`/${name}`, join(pageDir, name));
  for (const [name, path] of vendorFiles()) files.set(`/vendor/${name}`, path);

  // One address for the page, with the slash. The mount (and the app's canonical paths) drop a
  // trailing slash from req.url, so it is read from the original URL.
  router.get('/', (req, res, next) => {
    const [path = '', query] = req.originalUrl.split(/\?(.*)/s);
    if (path.endsWith('/')) return next();
    res.redirect(301, `${BASE}/${query === undefined ? '' : `?${query}`}`);
  });

  // Anything that is not a page file falls through to the JSON 404; other methods fall through too.
  router.get(/.*/, async (req, res, next) => {
    const file = files.get(req.path);
    const stats = file === undefined ? null : await stat(file).catch(() => null);
    if (file === undefined || !stats?.isFile()) return next();
    setPageHeaders(res);
    // The service evaluates If-None-Match itself, as on the API routes (RFC 9110 §13.1.2): send's own
    // check defers to `fresh`, which answers 200 to any request carrying Cache-Control: no-cache,
    // and fetch() sends that with every conditional request.
    const etag = `W/"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`;
    res.setHeader('ETag', etag);
    res.setHeader('Last-Modified', stats.mtime.toUTCString());
    // §13.1.3: If-Modified-Since only when there is no If-None-Match; Cache-Control plays no part here either.
    if (req.headers['if-none-match'] !== undefined ? noneMatchHits(req, etag) : notModifiedSince(req.headers['if-modified-since'], stats.mtimeMs)) {
      res.statusCode = 304;
      return void res.end();
    }
    res.sendFile(file, { etag: false, lastModified: false, dotfiles: 'allow' }, (error) => {
      // An aborted download is the client's business; anything else is ours to report.
      if (error && !res.headersSent) next(error);
    });
  });
  return router;
}
