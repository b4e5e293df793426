import type { FastifyInstance } from 'fastify';
import { LadderError } from '../core/errors.js';
import type { SubmissionInput } from '../core/submission.js';
import type { Metadata } from '../core/types.js';
import type { RefusedInput } from '../service/rejections.js';
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
}

const validateScore = compileStrict<ScoreBody>(scoreBody);

function inputOf(body: ScoreBody): SubmissionInput {
  return { participantId: body.participant_id, score: body.score, timestamp: body.timestamp, eventId: body.event_id, metadata: body.metadata };
}

/** What a body the schema refused said, for the participant's history: any field may be missing or malformed. */
function refusedInputOf(body: unknown): RefusedInput {
  if (typeof body !== 'object' || body === null) return {};
  const fields = body as Record<string, unknown>;
  return { participantId: fields.participant_id, score: fields.score, timestamp: fields.timestamp, eventId: fields.event_id };
}

export function registerScoreRoutes(app: FastifyInstance, ctx: HttpContext): void {
  const { ladder } = ctx;

  app.post<{ Params: { id: string }; Body: ScoreBody }>(
    '/v1/leaderboards/:id/scores',
    // attachValidation: a body the schema refuses still reaches the handler, which records the refusal.
    { config: { scope: 'write' }, schema: { params: boardParams, body: scoreBody }, attachValidation: true },
    async (request) => {
      const invalid = request.validationError;
      if (invalid !== undefined) {
        const error = validationError(invalid.validation, '', invalid.validationContext);
        const boardId = request.params.id;
        if (invalid.validationContext === 'body' && ladder.boardRules(boardId) !== undefined) {
          void ladder.recordRejections(boardId, [{ input: refusedInputOf(request.body), error }]);
        }
        throw error;
      }
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
      const refused: { input: RefusedInput; error: LadderError }[] = [];
      request.body.scores.forEach((item, i) => {
        const field = `scores[${i}]`;
        if (validateScore(item)) {
          valid.push(inputOf(item));
          fields.push(field);
          positions.push(i);
        } else {
          const error = validationError(validateScore.errors, field);
          results[i] = error.toBody();
          refused.push({ input: refusedInputOf(item), error });
        }
      });
      if (refused.length > 0) void ladder.recordRejections(request.params.id, refused);
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
