import type { RedisClient } from '../backend/redis-client.js';
import type { Config } from '../core/config.js';
import type { Feed } from '../feed/feed.js';
import type { Auth } from '../service/auth.js';
import type { Ladder } from '../service/ladder.js';
import type { Metrics } from './metrics.js';

/** What every route needs; built once by the composition root (src/app.ts). */
export interface HttpContext {
  readonly ladder: Ladder;
  readonly config: Config;
  readonly auth: HttpAuth;
  readonly feed: Feed;
  readonly metrics: Metrics;
  /** Cluster mode's Redis, where rate limit counters are shared by every member; null when embedded. */
  readonly redis: RedisClient | null;
}

export interface HttpAuth {
  readonly keys: Auth;
  /** Throws a LadderError unless the request may act with `scope`. Reads pass freely unless LADDER_READ_AUTH. */
  authorize(request: import('fastify').FastifyRequest, scope: 'read' | 'write' | 'admin'): Promise<void>;
}
