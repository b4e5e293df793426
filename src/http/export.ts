/**
 * GET /v1/leaderboards/{id}/export?format=csv|ndjson&period= (admin): the
 * board's ranking (or a closed period's) as a file, streamed page by page (service/export.ts) in constant
 * memory, whatever the board's size.
 */
import type { FastifyInstance } from 'fastify';
import type { HttpContext } from './context.js';
import { exportMediaTypes, exportStream, type ExportFormat } from './export-format.js';
import { boardParams, exportQuery } from './schemas.js';
import { rankingPages } from '../service/export.js';

export function registerExportRoute(app: FastifyInstance, ctx: HttpContext): void {
  const { ladder } = ctx;

  app.get<{ Params: { id: string }; Querystring: { format: ExportFormat; period?: string } }>(
    '/v1/leaderboards/:id/export',
    { config: { scope: 'admin' }, schema: { params: boardParams, querystring: exportQuery } },
    async (request, reply) => {
      const { id } = request.params;
      const { format, period } = request.query;
      const pages = rankingPages(ladder, id, period)[Symbol.asyncIterator]();
      // The first page is read before anything is sent, so an unknown board is a plain 404
      // and the answer can name the state it starts from.
      const first = await pages.next();
      if (first.done) throw new Error('a ranking source ended without its first page');
      const page = first.value;
      return reply
        .header('Content-Type', exportMediaTypes[format])
        .header('Content-Disposition', `attachment; filename="${period === undefined ? id : `${id}-${period.replace(/:/g, '')}`}.${format}"`)
        .header('Cache-Control', 'no-store')
        .header('Ladder-Epoch', page.epoch)
        .header('Ladder-Version', String(page.version))
        .header('Ladder-Total', String(page.total))
        .send(exportStream(page, pages, format));
    },
  );
}
