/**
 * A Redis connection for one test file, under a key prefix of its own
 * (`ladder-test:<random>:`), so that files and runs sharing a server never
 * meet; `cleanup` deletes every key under it (SCAN + UNLINK, never FLUSHDB)
 * and disconnects. The server is LADDER_TEST_REDIS_URL, by default
 * redis://127.0.0.1:6379/0.
 *
 * When the server cannot be reached, the suites fail on CI and are skipped,
 * loudly, elsewhere.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const testRedisUrl = process.env.LADDER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';

export interface TestRedis {
  readonly client: Redis;
  /** Ends with ':'. */
  readonly prefix: string;
  /** The keys under the prefix (or under `${prefix}${more}`). */
  keys(more?: string): Promise<string[]>;
  cleanup(): Promise<void>;
}

/** Connects, or answers null (having said so on stderr, naming `suites`) when the server is unreachable outside CI. */
export async function connectTestRedis(suites: readonly string[]): Promise<TestRedis | null> {
  const client = new Redis(testRedisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  // The connection's own error (e.g. ECONNREFUSED) says more than the rejected command's.
  let cause: Error | null = null;
  const onError = (err: Error) => (cause ??= err);
  client.on('error', onError);
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    client.disconnect();
    const reason = `Redis at ${testRedisUrl} is unreachable (${(cause ?? (err as Error)).message})`;
    if (process.env.CI) throw new Error(`${reason}: ${suites.join(', ')} cannot run; set LADDER_TEST_REDIS_URL`, { cause: err });
    process.stderr.write(`\n!!! ${reason}: SKIPPING ${suites.join(', ')}. On CI this fails. !!!\n\n`);
    return null;
  }
  client.off('error', onError);
  const prefix = `ladder-test:${randomBytes(6).toString('hex')}:`;
  const keys = async (more = '') => {
    const found: string[] = [];
    // The pattern is the prefix with its glob characters escaped, then *.
    const pattern = `${prefix}${more}`.replace(/[*?[\]\\]/g, '\\$&') + '*';
    let cursor = '0';
    do {
      const [next, batch] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000);
      found.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    return found;
  };
  return {
    client,
    prefix,
    keys,
    async cleanup() {
      const found = await keys();
      for (let i = 0; i < found.length; i += 1_000) await client.unlink(...found.slice(i, i + 1_000));
      await client.quit();
    },
  };
}
