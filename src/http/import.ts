/**
 * POST /v1/leaderboards/{id}/import (admin): a CSV (`Content-Type: text/csv`)
 * or NDJSON (`application/x-ndjson`) body of scores, read as it arrives and
 * submitted 1000 at a time (service/import.ts), so its size is not bound by
 * LADDER_BODY_LIMIT. The answer comes once the whole body is applied: how
 * many lines were accepted and failed, and the first failures with their
 * line numbers. `?source=<name>` gives the lines without an event_id the id
 * `import:<name>:<line>`, so sending the same file again applies nothing twice.
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { LadderError } from '../core/errors.js';
import { ImportReader, textLines, type ImportFormat } from '../core/import-records.js';
import { importLines } from '../service/import.js';
import type { HttpContext } from './context.js';
import { boardParams, importQuery } from './schemas.js';

const importMediaTypes: Record<string, ImportFormat> = { 'text/csv': 'csv', 'application/x-ndjson': 'ndjson' };

function formatOf(contentType: string | undefined): ImportFormat | undefined {
  return importMediaTypes[(contentType ?? '').split(';')[0]!.trim().toLowerCase()];
}

export function registerImportRoute(app: FastifyInstance, ctx: HttpContext): void {
  const { ladder } = ctx;
  // A scope of its own: its body parsers hand over the raw stream, and only this route has them.
  void app.register(async (scope) => {
    scope.addContentTypeParser(Object.keys(importMediaTypes), (_request, payload, done) => done(null, payload));
    // Before the body is looked at, so a JSON body gets this answer instead of the JSON parser's.
    scope.addHook('onRequest', async (request) => {
      if (formatOf(request.headers['content-type']) === undefined) {
        throw new LadderError('unsupported_media_type', 'send the file with `Content-Type: text/csv` or `Content-Type: application/x-ndjson`');
      }
    });
    scope.post<{ Params: { id: string }; Querystring: { source?: string } }>(
      '/v1/leaderboards/:id/import',
      { config: { scope: 'admin' }, schema: { params: boardParams, querystring: importQuery } },
      async (request) => {
        const { id } = request.params;
        const { source } = request.query;
        const reader = new ImportReader(formatOf(request.headers['content-type'])!, source ?? null);
        const outcome = await importLines(ladder, id, textLines(request.body as IncomingMessage), reader);
        return {
          leaderboard_id: id,
          records: outcome.records,
          accepted: outcome.accepted,
          failed: outcome.failed,
          failures: outcome.failures.map((failure) => ({ line: failure.line, error: failure.error.toBody().error })),
        };
      },
    );
  });
}
