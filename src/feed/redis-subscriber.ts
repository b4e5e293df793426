/**
 * The pub/sub connection of the Redis bus (feed/redis-bus.ts), which tells
 * when messages may have been missed: after its connection came back, or
 * moved to another node, and is subscribed again to every channel.
 *
 * On a Redis Cluster it is a plain connection to one node, not a duplicate
 * of the cluster client: PUBLISH on a cluster reaches the subscribers of
 * every node, and ioredis' cluster client, when its pub/sub connection
 * drops, subscribes again on some node without a word, so the bus never
 * learnt that it had missed messages (on a real cluster, after CLIENT KILL
 * TYPE pubsub, deltas came again, but viewers never re-read what had been
 * published meanwhile). The connection retries its node a few times; when
 * the node stays away, another node of the cluster takes over. On a single
 * Redis it is a duplicate of the client, which retries for ever.
 */
import { Cluster, type Redis } from 'ioredis';

export interface SubscriberHandlers {
  message(channel: string, payload: string): void;
  /** The connection came back (or moved to another node) and is subscribed again: what was published meanwhile is lost. */
  missed(): void;
  error(err: unknown): void;
}

/** Reconnects to a cluster node before another node takes over. */
const NODE_RETRIES = 3;
const RETRY_MS = 100;

export class RedisSubscriber {
  readonly #client: Redis | Cluster;
  readonly #handlers: SubscriberHandlers;
  readonly #channels = new Set<string>();
  #connection: Redis;
  #closed = false;

  private constructor(client: Redis | Cluster, connection: Redis, handlers: SubscriberHandlers) {
    this.#client = client;
    this.#connection = connection;
    this.#handlers = handlers;
  }

  /** Opens a pub/sub connection beside `client` (a node of it, on a cluster). */
  static async open(client: Redis | Cluster, handlers: SubscriberHandlers): Promise<RedisSubscriber> {
    const subscriber = new RedisSubscriber(client, await connected(newConnection(client, null), handlers), handlers);
    subscriber.#listen(subscriber.#connection);
    return subscriber;
  }

  /** Where it listens now, host:port (tests, logs). */
  get node(): string {
    return `${this.#connection.options.host ?? '?'}:${this.#connection.options.port ?? '?'}`;
  }

  async subscribe(channel: string): Promise<void> {
    this.#channels.add(channel);
    await this.#connection.subscribe(channel);
  }

  async unsubscribe(channel: string): Promise<void> {
    this.#channels.delete(channel);
    await this.#connection.unsubscribe(channel);
  }

  close(): void {
    this.#closed = true;
    this.#connection.disconnect();
  }

  #listen(connection: Redis): void {
    connection.on('message', (channel: string, payload: string) => this.#handlers.message(channel, payload));
    // Reconnected to the same server: subscribed again here (not by ioredis, whose `ready` comes before it has).
    connection.on('ready', () => this.#resubscribed(connection));
    // Given up on its node (a cluster node that stays away): another one takes over.
    connection.once('end', () => {
      if (!this.#closed && connection === this.#connection) void this.#moveOn(connection);
    });
  }

  #resubscribed(connection: Redis): void {
    const channels = [...this.#channels];
    (channels.length === 0 ? Promise.resolve() : connection.subscribe(...channels)).then(
      () => this.#handlers.missed(),
      (err: unknown) => this.#handlers.error(err),
    );
  }

  async #moveOn(lost: Redis): Promise<void> {
    const lostNode = `${lost.options.host}:${lost.options.port}`;
    while (!this.#closed) {
      try {
        const connection = await connected(newConnection(this.#client, lostNode), this.#handlers);
        if (this.#closed) {
          connection.disconnect();
          return;
        }
        this.#connection = connection;
        this.#listen(connection);
        this.#resubscribed(connection);
        return;
      } catch (err) {
        this.#handlers.error(err);
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS * NODE_RETRIES));
      }
    }
  }
}

/**
 * A new pub/sub connection, not connected yet: on a single Redis a duplicate
 * of the client; on a cluster one to a random node other than `avoid` when
 * there is one.
 */
function newConnection(client: Redis | Cluster, avoid: string | null): Redis {
  if (!(client instanceof Cluster)) return client.duplicate({ autoResubscribe: false, lazyConnect: true });
  const nodes = client.nodes('all');
  const others = nodes.filter((node) => `${node.options.host}:${node.options.port}` !== avoid);
  const pool = others.length > 0 ? others : nodes;
  if (pool.length === 0) throw new Error('the Redis Cluster client knows no node to subscribe on');
  const node = pool[Math.floor(Math.random() * pool.length)]!;
  // The cluster's node connections never reconnect (the cluster client refreshes its slots instead); this one does, a few times.
  return node.duplicate({
    autoResubscribe: false,
    lazyConnect: true,
    enableOfflineQueue: false,
    readOnly: false,
    retryStrategy: (times: number) => (times > NODE_RETRIES ? null : RETRY_MS * times),
  });
}

async function connected(connection: Redis, handlers: SubscriberHandlers): Promise<Redis> {
  // Until it is connected, its failure comes back from connect(), once, as the connection's own error (e.g. ECONNREFUSED).
  let cause: unknown = null;
  const untilConnected = (err: unknown) => (cause ??= err);
  connection.on('error', untilConnected);
  try {
    await connection.connect();
  } catch (err) {
    connection.disconnect();
    throw cause ?? err;
  }
  connection.off('error', untilConnected);
  connection.on('error', (err: unknown) => handlers.error(err));
  return connection;
}
