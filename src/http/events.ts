/**
 * Server-Sent Events endpoint `GET /v1/leaderboards/:id/events?view=…`
 * (docs/protocol.md): one view per stream, the same messages as over
 * WebSocket with sub "sse", `id:` = `<epoch>-<version>` of the state the
 * message brings the client to, and `Last-Event-ID` to resume.
 */
import type { FastifyInstance } from 'fastify';
import { parseStateTag } from '../core/epoch.js';
import { invalidField, LadderError } from '../core/errors.js';
import type { ViewSpec } from '../feed/protocol.js';
import { CloseCode, type Transport } from '../feed/subscriber.js';
import { parseViewParam } from '../feed/view.js';
import type { HttpContext } from './context.js';
import { boardParams } from './schemas.js';

/** How soon an EventSource comes back after a shutdown ended its stream (SSE `retry:`): another instance takes it. */
const SHUTDOWN_RETRY_MS = 1000;

const SSE_SUB = 'sse';

export function registerEventsRoute(app: FastifyInstance, ctx: HttpContext): void {
  app.get<{ Params: { id: string }; Querystring: Record<string, unknown> }>(
    '/v1/leaderboards/:id/events',
    { config: { scope: 'read' }, schema: { params: boardParams } },
    async (request, reply) => {
      const boardId = request.params.id;
      await ctx.ladder.requireBoard(boardId);
      const spec = viewOf(request.query.view);
      const { scope, period } = request.query;
      for (const [name, value] of [['scope', scope], ['period', period]] as const) {
        if (value !== undefined && typeof value !== 'string') throw invalidField(name, 'must be given once');
      }
      // A scope value's or the all-time ranking is a derived board of its own (core/derived.ts).
      const target = scope === undefined && period === undefined ? boardId : await ctx.ladder.liveBoard(boardId, { scope: scope as string | undefined, period: period as string | undefined });
      const lastEventId = request.headers['last-event-id'];
      // Anything that is not `<epoch>-<version>` means "no resume": a snapshot.
      const since = typeof lastEventId === 'string' ? parseStateTag(lastEventId) : null;

      reply.hijack();
      const response = reply.raw;
      // Gone while the request was checked: its 'close' has passed, so nothing would ever release the subscriber.
      if (request.raw.socket === null || request.raw.socket.destroyed) return;
      response.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        // Tells nginx-like proxies not to buffer the stream.
        'x-accel-buffering': 'no',
      });
      // Sends the headers now, so the client sees the stream open before the first event.
      response.write(': ladder\n\n');

      const transport: Transport = {
        send: (type, id, json, flushed) => {
          response.write(`${id === null ? '' : `id: ${id}\n`}event: ${type}\ndata: ${json}\n\n`, flushed);
        },
        // A slow consumer's stream is stuck, so it is cut; any other end lets the queued events out first.
        close: (code, reason) => {
          if (code === CloseCode.slowConsumer) {
            response.destroy();
            return;
          }
          // At a shutdown, the client hears why the stream ends and to come back soon (to another instance), with the WebSocket close code.
          if (code === CloseCode.serviceRestart) response.write(`retry: ${SHUTDOWN_RETRY_MS}\nevent: close\ndata: ${JSON.stringify({ type: 'close', code, reason })}\n\n`);
          response.end();
        },
      };
      let subscriber;
      try {
        subscriber = ctx.feed.connect(boardId, transport, 1);
      } catch (err) {
        if (!(err instanceof LadderError)) throw err;
        transport.send('error', null, JSON.stringify({ type: 'error', sub: SSE_SUB, code: err.code, message: err.message }), () => undefined);
        response.end();
        return;
      }
      // Comment lines keep proxies from timing out an idle stream and reveal a dead client through a failed write.
      const keepalive = setInterval(() => response.write(': keepalive\n\n'), ctx.config.heartbeatMs);
      response.once('close', () => {
        clearInterval(keepalive);
        subscriber.disconnect();
      });
      try {
        await subscriber.subscribe(SSE_SUB, spec, since, target);
      } catch (err) {
        const error = err instanceof LadderError ? err : new LadderError('internal_error', 'the view could not be read; reconnect later');
        subscriber.sendMessage({ type: 'error', sub: SSE_SUB, code: error.code, message: error.message });
        subscriber.close(CloseCode.goingAway, error.code);
      }
    },
  );
}

function viewOf(param: unknown): ViewSpec {
  if (typeof param !== 'string' || param === '') {
    throw invalidField('view', 'is required: the view as JSON, or top:N, participant:<pid>, around:<radius>:<pid>');
  }
  try {
    return parseViewParam(param);
  } catch (err) {
    if (err instanceof LadderError) throw invalidField('view', `is invalid: ${err.message}`);
    throw err;
  }
}
