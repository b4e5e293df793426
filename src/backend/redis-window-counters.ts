/** Cluster mode's windows (service/window-counters.ts), in Redis: every process counts against the same ones. */
import { scripts, type RedisClient } from '../index/redis-scripts.js';
import type { WindowCounters, WindowTake } from '../service/window-counters.js';

export class RedisWindowCounters implements WindowCounters {
  readonly #client: RedisClient;
  readonly #prefix: string;

  /** `prefix`: the cluster's LADDER_REDIS_PREFIX. */
  constructor(client: RedisClient, prefix: string) {
    this.#client = client;
    this.#prefix = `${prefix}window:`;
  }

  async take(key: string, amount: number, limit: number, windowMs: number): Promise<WindowTake> {
    const [taken, used, resetInMs] = (await scripts.takeWindow.run(this.#client, [this.#prefix + key], [amount, limit, windowMs])) as [number, number, number];
    return { taken: taken === 1, used, resetInMs };
  }
}
