import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LadderError } from '../core/errors.js';
import { scoreFromWire, scoreText, scoreToWire } from '../core/fixed-point.js';
import { MAX_SCORE } from '../core/ordering.js';
import type { SubmissionInput } from '../core/submission.js';
import type { Metadata } from '../core/types.js';
import type { PlayerIdentity } from '../service/player-tokens.js';
import type { RefusedInput } from '../service/rejections.js';
import { foreignParticipant } from './auth.js';
import type { HttpContext } from './context.js';
import type { Metrics } from './metrics.js';
import { batchBody, boardParams, MAX_BATCH, scoreBody } from './schemas.js';
import { compileStrict, validationError } from './validation.js';
import { submitResultToWire } from './wire.js';

interface ScoreBody {
  participant_id: string;
  /** A number with at most the board's score_decimals decimals, checked by inputOf. */
  score: unknown;
  timestamp?: number;
  event_id?: string;
  metadata?: Metadata | null;
  scope?: Record<string, string>;
}

const validateScore = compileStrict<ScoreBody>(scoreBody);

/** The submission with its score as the board keeps it (×10^decimals); throws invalid_score naming `field`.score. */
function inputOf(body: ScoreBody, decimals: number, field = ''): SubmissionInput {
  const score = scoreFromWire(body.score, decimals, field === '' ? 'score' : `${field}.score`);
  return { participantId: body.participant_id, score, timestamp: body.timestamp, eventId: body.event_id, metadata: body.metadata, scope: body.scope };
}

/** An overflow on a fixed-point board, in the board's decimals rather than the kept integers. */
function shownError(err: LadderError, decimals: number, input: SubmissionInput): LadderError {
  if (decimals === 0 || err.code !== 'score_overflow') return err;
  const current = Number(err.details?.current);
  return new LadderError(
    'score_overflow',
    `score increment of ${scoreText(input.score, decimals)} would take participant '${input.participantId}' outside ±${scoreText(MAX_SCORE, decimals)}`,
    { ...err.details, current: Number.isSafeInteger(current) ? scoreToWire(current, decimals) : err.details?.current },
  );
}

/** What a body the schema refused said, for the participant's history: any field may be missing or malformed. */
function refusedInputOf(body: unknown): RefusedInput {
  if (typeof body !== 'object' || body === null) return {};
  const fields = body as Record<string, unknown>;
  return { participantId: fields.participant_id, score: fields.score, timestamp: fields.timestamp, eventId: fields.event_id };
}

/** The participant a submission body names, whatever the rest of it is. */
function participantOf(body: unknown): unknown {
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>).participant_id : undefined;
}

/** What a batch body said, item by item (at most MAX_BATCH), for the histories when the whole batch is refused. */
function refusedBatchOf(body: unknown): RefusedInput[] {
  const scores = typeof body === 'object' && body !== null ? (body as { scores?: unknown }).scores : undefined;
  return Array.isArray(scores) ? scores.slice(0, MAX_BATCH).map(refusedInputOf) : [];
}

/** Counts a batch's items in the submission metrics: accepted, or rejected by code. */
function countBatch(metrics: Metrics, results: readonly unknown[]): void {
  let accepted = 0;
  for (const result of results) {
    const error = (result as { error?: { code: string } }).error;
    if (error === undefined) accepted++;
    else metrics.rejected(error.code);
  }
  if (accepted > 0) metrics.accepted(accepted);
}

export function registerScoreRoutes(app: FastifyInstance, ctx: HttpContext): void {
  const { ladder, metrics } = ctx;

  app.post<{ Params: { id: string }; Body: ScoreBody }>(
    '/v1/leaderboards/:id/scores',
    // attachValidation: a body the schema refuses still reaches the handler, which records the refusal.
    { config: { scope: 'write', player: 'scores', submissions: (body) => [refusedInputOf(body)] }, schema: { params: boardParams, body: scoreBody }, attachValidation: true },
    async (request) => {
      try {
        const answer = await submitOne(request);
        metrics.accepted();
        return answer;
      } catch (err) {
        metrics.rejected(err instanceof LadderError ? err.code : 'internal_error');
        throw err;
      }
    },
  );

  /** One submission: the schema's verdict (recorded when refused), the board's decimals, then the service. */
  async function submitOne(request: FastifyRequest<{ Params: { id: string }; Body: ScoreBody }>) {
    const { id } = request.params;
    // A player token submits for its own participant only; a forged one is refused before anything else is looked at.
    const player = request.player;
    if (player !== null && participantOf(request.body) !== player.participantId) {
      const error = foreignParticipant(player, participantOf(request.body));
      if (ladder.boardRules(id) !== undefined) void ladder.recordRejections(id, [{ input: refusedInputOf(request.body), error }]);
      throw error;
    }
    const invalid = request.validationError;
    if (invalid !== undefined) {
      const error = validationError(invalid.validation, '', invalid.validationContext);
      if (invalid.validationContext === 'body' && ladder.boardRules(id) !== undefined) {
        void ladder.recordRejections(id, [{ input: refusedInputOf(request.body), error }]);
      }
      throw error;
    }
    const decimals = (ladder.boardRules(id) ?? (await ladder.requireBoard(id))).scoreDecimals;
    let input: SubmissionInput;
    try {
      input = inputOf(request.body, decimals);
    } catch (err) {
      if (err instanceof LadderError) void ladder.recordRejections(id, [{ input: refusedInputOf(request.body), error: err }]);
      throw err;
    }
    try {
      return submitResultToWire(await ladder.submit(id, input), decimals);
    } catch (err) {
      throw err instanceof LadderError ? shownError(err, decimals, input) : err;
    }
  }

  /**
   * A player token's batch must be for its own participant, every item: one
   * forged item refuses the whole batch (403), and each of its items is
   * recorded as refused.
   */
  function refuseForeignItems(boardId: string, items: readonly unknown[], player: PlayerIdentity | null): void {
    if (player === null) return;
    const foreign = items.find((item) => participantOf(item) !== player.participantId);
    if (foreign === undefined) return;
    const error = foreignParticipant(player, participantOf(foreign));
    if (ladder.boardRules(boardId) !== undefined) void ladder.recordRejections(boardId, items.map((item) => ({ input: refusedInputOf(item), error })));
    metrics.rejected(error.code, items.length);
    throw error;
  }

  app.post<{ Params: { id: string }; Body: { scores: unknown[] } }>(
    '/v1/leaderboards/:id/scores/batch',
    { config: { scope: 'write', player: 'scores', submissions: refusedBatchOf }, schema: { params: boardParams, body: batchBody } },
    async (request) => {
      refuseForeignItems(request.params.id, request.body.scores, request.player);
      const decimals = (await ladder.requireBoard(request.params.id)).scoreDecimals;
      const results: unknown[] = new Array(request.body.scores.length);
      const valid: SubmissionInput[] = [];
      const fields: string[] = [];
      const positions: number[] = [];
      const refused: { input: RefusedInput; error: LadderError }[] = [];
      request.body.scores.forEach((item, i) => {
        const field = `scores[${i}]`;
        if (!validateScore(item)) {
          const error = validationError(validateScore.errors, field);
          results[i] = error.toBody();
          refused.push({ input: refusedInputOf(item), error });
          return;
        }
        try {
          valid.push(inputOf(item, decimals, field));
        } catch (err) {
          if (!(err instanceof LadderError)) throw err;
          results[i] = err.toBody();
          refused.push({ input: refusedInputOf(item), error: err });
          return;
        }
        fields.push(field);
        positions.push(i);
      });
      if (refused.length > 0) void ladder.recordRejections(request.params.id, refused);
      if (valid.length > 0) {
        const outcomes = await ladder.submitMany(request.params.id, valid, fields);
        outcomes.forEach((outcome, k) => {
          results[positions[k] as number] = outcome instanceof LadderError ? shownError(outcome, decimals, valid[k]!).toBody() : submitResultToWire(outcome, decimals);
        });
      }
      countBatch(metrics, results);
      return { results };
    },
  );
}
