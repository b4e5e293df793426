/**
 * GET /metrics in the Prometheus text format (prom-client). Each server has
 * its own registry, so that several servers in one process (the tests) do not
 * share counters. Labels are bounded: routes are Fastify's route patterns
 * (`/v1/leaderboards/:id/scores`), never raw URLs, and codes come from the
 * error catalogue.
 *
 * The request hook costs a counter increment and a histogram observation per
 * request; the gauges are read from the feed and the backend at scrape time.
 */
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Feed } from '../feed/feed.js';
import type { Ladder } from '../service/ladder.js';

export class Metrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'method' | 'route' | 'status'>;
  readonly #duration: Histogram<'method' | 'route'>;
  readonly #submissions: Counter<'outcome' | 'code'>;

  constructor(ladder: Ladder, feed: Feed) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'ladder_' });
    // These three of prom-client's are gauges named *_total, which Prometheus's
    // linter (promtool check metrics) refuses; the process and event-loop figures remain.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(`ladder_${name}`);
    this.#requests = new Counter({ name: 'ladder_http_requests_total', help: 'HTTP requests answered, by route pattern and status.', labelNames: ['method', 'route', 'status'], registers });
    this.#duration = new Histogram({
      name: 'ladder_http_request_duration_seconds',
      help: 'Time from a request to its answer, by route pattern.',
      labelNames: ['method', 'route'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.#submissions = new Counter({ name: 'ladder_submissions_total', help: 'Score submissions (single and batch items): accepted, or rejected with their error code.', labelNames: ['outcome', 'code'], registers });
    new Gauge({
      name: 'ladder_live_views',
      help: 'Live views (top-N, around, participant) with subscribers or lingering for resumes.',
      registers,
      collect() {
        this.set(feed.viewCount);
      },
    });
    new Gauge({
      name: 'ladder_viewers',
      help: 'Connected real-time viewers (WebSocket connections and SSE streams).',
      registers,
      collect() {
        this.set(feed.subscriberCount);
      },
    });
    new Gauge({
      name: 'ladder_boards',
      help: 'Boards, including closed ones.',
      registers,
      collect() {
        this.set(ladder.boardCount);
      },
    });
  }

  /** Counts an answered request. */
  answered(method: string, route: string, status: number, seconds: number): void {
    this.#requests.inc({ method, route, status: String(status) });
    this.#duration.observe({ method, route }, seconds);
  }

  accepted(count = 1): void {
    this.#submissions.inc({ outcome: 'accepted', code: '' }, count);
  }

  rejected(code: string, count = 1): void {
    this.#submissions.inc({ outcome: 'rejected', code }, count);
  }
}

export function registerMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', async (request, reply) => {
    metrics.answered(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
  });
  app.get('/metrics', async (_request, reply) => {
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}
