import type { FastifyInstance } from 'fastify';
import { LadderError } from '../core/errors.js';
import type { SubmissionInput } from '../core/submission.js';
import type { Metadata } from '../core/types.js';
import type { HttpContext } from './context.js';
import { batchBody, boardParams, scoreBody } from './schemas.js';
import { compileStrict, validationError } from './validation.js';
import { submitResultToWire } from './wire.js';

interface ScoreBody {
  participant_id: string;
  score: number;
  timestamp?: number;
  event_id?: string;
  metadata?: Metadata | null;
  scope?: Record<string, string>;
}

const validateScore = compileStrict<ScoreBody>(scoreBody);

function inputOf(body: ScoreBody): SubmissionInput {
  return { participantId: body.participant_id, score: body.score, timestamp: body.timestamp, eventId: body.event_id, metadata: body.metadata, scope: body.scope };
}

export function registerScoreRoutes(app: FastifyInstance, ctx: HttpContext): void {
  const { ladder } = ctx;

  app.post<{ Params: { id: string }; Body: ScoreBody }>(
    '/v1/leaderboards/:id/scores',
    { config: { scope: 'write' }, schema: { params: boardParams, body: scoreBody } },
    async (request) => {
      const result = await ladder.submit(request.params.id, inputOf(request.body));
      return submitResultToWire(result);
    },
  );

  app.post<{ Params: { id: string }; Body: { scores: unknown[] } }>(
    '/v1/leaderboards/:id/scores/batch',
    { config: { scope: 'write' }, schema: { params: boardParams, body: batchBody } },
    async (request) => {
      await ladder.requireBoard(request.params.id);
      const results: unknown[] = new Array(request.body.scores.length);
      const valid: SubmissionInput[] = [];
      const fields: string[] = [];
      const positions: number[] = [];
      request.body.scores.forEach((item, i) => {
        const field = `scores[${i}]`;
        if (validateScore(item)) {
          valid.push(inputOf(item));
          fields.push(field);
          positions.push(i);
        } else {
          results[i] = validationError(validateScore.errors, field).toBody();
        }
      });
      if (valid.length > 0) {
        const outcomes = await ladder.submitMany(request.params.id, valid, fields);
        outcomes.forEach((outcome, k) => {
          results[positions[k] as number] = outcome instanceof LadderError ? outcome.toBody() : submitResultToWire(outcome);
        });
      }
      return { results };
    },
  );
}
