import type { FastifyInstance } from 'fastify';
import { boardNotFound, LadderError } from '../core/errors.js';
import type { Metadata, Submission } from '../core/types.js';
import type { HttpContext } from './context.js';
import { checkMetadataSize } from './metadata.js';
import { batchBody, boardParams, scoreBody } from './schemas.js';
import { compileStrict, validationError } from './validation.js';
import { submitResultToWire } from './wire.js';

interface ScoreBody {
  participant_id: string;
  score: number;
  timestamp?: number;
  event_id?: string;
  metadata?: Metadata | null;
}

const validateScore = compileStrict<ScoreBody>(scoreBody);

function toSubmission(body: ScoreBody, field: string, now: number): Submission {
  checkMetadataSize(body.metadata, field === '' ? 'metadata' : `${field}.metadata`);
  return {
    participantId: body.participant_id,
    score: body.score,
    timestamp: body.timestamp ?? now,
    eventId: body.event_id ?? null,
    metadata: body.metadata ?? null,
  };
}

export function registerScoreRoutes(app: FastifyInstance, ctx: HttpContext): void {
  const { ladder } = ctx;

  app.post<{ Params: { id: string }; Body: ScoreBody }>(
    '/v1/leaderboards/:id/scores',
    { config: { scope: 'write' }, schema: { params: boardParams, body: scoreBody } },
    async (request) => {
      const result = await ladder.submit(request.params.id, toSubmission(request.body, '', Date.now()));
      return submitResultToWire(result);
    },
  );

  app.post<{ Params: { id: string }; Body: { scores: unknown[] } }>(
    '/v1/leaderboards/:id/scores/batch',
    { config: { scope: 'write' }, schema: { params: boardParams, body: batchBody } },
    async (request) => {
      if (!ladder.boardRules(request.params.id)) throw boardNotFound(request.params.id);
      const now = Date.now();
      const results: unknown[] = new Array(request.body.scores.length);
      const valid: Submission[] = [];
      const positions: number[] = [];
      request.body.scores.forEach((item, i) => {
        const field = `scores[${i}]`;
        try {
          if (!validateScore(item)) throw validationError(validateScore.errors, field);
          valid.push(toSubmission(item, field, now));
          positions.push(i);
        } catch (err) {
          if (!(err instanceof LadderError)) throw err;
          results[i] = err.toBody();
        }
      });
      if (valid.length > 0) {
        const outcomes = await ladder.submitMany(request.params.id, valid);
        outcomes.forEach((outcome, k) => {
          results[positions[k] as number] = outcome instanceof LadderError ? outcome.toBody() : submitResultToWire(outcome);
        });
      }
      return { results };
    },
  );
}
