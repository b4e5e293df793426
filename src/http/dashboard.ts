/**
 * Serves the dashboard that `npm run build` bundles into dist/public
 * (scripts/build-dashboard.mjs): index.html at `/` and content-hashed files
 * under `/assets/`, which can therefore be cached for good.
 */
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** dist/http/dashboard.js finds dist/public beside it; src/http/dashboard.ts (run through tsx) finds the built one in dist. */
const candidates = [fileURLToPath(new URL('../public', import.meta.url)), fileURLToPath(new URL('../../dist/public', import.meta.url))];

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

/** Names the build writes: no directories, no dot files, so no path can leave the assets directory. */
const assetName = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

const pageSecurityHeaders = {
  'content-security-policy':
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};

let publicDir: string | null = null;

/** Looked up on each request until found, so a build made while the server runs is picked up. */
function findPublicDir(): string | null {
  publicDir ??= candidates.find((dir) => existsSync(join(dir, 'index.html'))) ?? null;
  return publicDir;
}

async function sendFile(request: FastifyRequest, reply: FastifyReply, path: string, cacheControl: string): Promise<FastifyReply> {
  let info;
  try {
    info = await stat(path);
  } catch {
    reply.callNotFound();
    return reply;
  }
  const etag = `W/"${info.size.toString(36)}-${Math.trunc(info.mtimeMs).toString(36)}"`;
  void reply.header('cache-control', cacheControl).header('etag', etag).header('x-content-type-options', 'nosniff');
  if (request.headers['if-none-match'] === etag) return reply.status(304).send();
  return reply.type(contentTypes[extname(path)] ?? 'application/octet-stream').send(await readFile(path));
}

export function registerDashboardRoute(app: FastifyInstance): void {
  app.get('/', async (request, reply) => {
    const dir = findPublicDir();
    if (dir === null) {
      return reply
        .status(503)
        .type('text/plain; charset=utf-8')
        .send('The Ladder dashboard is not built. Run `npm run build`, which bundles src/dashboard into dist/public.\n');
    }
    void reply.headers(pageSecurityHeaders);
    // no-cache: revalidate every time, so a new build's asset names are seen at once.
    return sendFile(request, reply, join(dir, 'index.html'), 'no-cache');
  });

  app.get<{ Params: { file: string } }>('/assets/:file', async (request, reply) => {
    const dir = findPublicDir();
    if (dir === null || !assetName.test(request.params.file)) {
      reply.callNotFound();
      return reply;
    }
    return sendFile(request, reply, join(dir, 'assets', request.params.file), 'public, max-age=31536000, immutable');
  });
}
