/**
 * The bus of cluster mode (DESIGN.md "bus"): the same messages as LocalBus,
 * carried between processes by Redis pub/sub.
 *
 * - Registry messages (boards, keys, profiles, resets) go on one channel that every
 *   process listens to, so a board or key changed through one process is
 *   known to every other at once.
 * - A board's `changes` go on a channel of its own, and a process listens to
 *   it only while something of its own watches the board (`watch`): its
 *   viewers, or a long-poll. Changes of one board are coalesced to one
 *   message per event-loop turn; a listener reads the board again for what
 *   changed, so only the newest version matters.
 *
 * A message reaches this process's listeners synchronously when published
 * here (the registry relies on it: a board created through this process is
 * known to it when the request is answered), and once more from Redis for no
 * one: each message carries its origin, and a process skips its own.
 *
 * Pub/sub delivers at most once. What a process may miss while its
 * connection is down is caught up on reconnect: every watched board is
 * announced as changed, and the registry reads the store again (`onResubscribed`).
 * The connection that listens is feed/redis-subscriber.ts's, which says when
 * that is, on a single Redis and on a Redis Cluster alike.
 */
import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { BusListener, BusMessage, ChangeBus } from './bus.js';
import { RedisSubscriber } from './redis-subscriber.js';

type Client = Redis | Cluster;

interface Envelope {
  readonly origin: string;
  readonly message: BusMessage;
}

export interface RedisBusOptions {
  /** Key and channel prefix shared by the cluster's processes (LADDER_REDIS_PREFIX). */
  readonly prefix: string;
  /** Hears what a listener threw, and a message that could not be parsed. */
  readonly onError?: (err: unknown) => void;
  /** Called after the subscriber connection came back: messages may have been missed. */
  readonly onResubscribed?: () => void;
}

export class RedisBus implements ChangeBus {
  readonly #origin = randomBytes(8).toString('hex');
  readonly #publisher: Client;
  readonly #subscriber: RedisSubscriber;
  readonly #registryChannel: string;
  readonly #prefix: string;
  readonly #listeners = new Set<BusListener>();
  /** Watchers per board id; the board's channel is subscribed while there are any. */
  readonly #watchers = new Map<string, number>();
  /** Changes waiting for the end of this event-loop turn, newest per board. */
  readonly #pendingChanges = new Map<string, BusMessage>();
  #flushScheduled = false;
  readonly #options: RedisBusOptions;

  private constructor(publisher: Client, subscriber: RedisSubscriber, options: RedisBusOptions) {
    this.#publisher = publisher;
    this.#subscriber = subscriber;
    this.#options = options;
    this.#prefix = options.prefix;
    this.#registryChannel = `${options.prefix}bus`;
  }

  /** Opens the bus over `client`; a connection of its own listens (feed/redis-subscriber.ts). */
  static async open(client: Client, options: RedisBusOptions): Promise<RedisBus> {
    let bus: RedisBus | null = null;
    const subscriber = await RedisSubscriber.open(client, {
      // Nothing is subscribed before the bus exists, so neither comes earlier.
      message: (channel, payload) => bus!.#receive(channel, payload),
      // What was published meanwhile is lost, so announce it as unknown.
      missed: () => bus!.#caughtUp(),
      error: (err) => options.onError?.(err),
    });
    bus = new RedisBus(client, subscriber, options);
    await subscriber.subscribe(bus.#registryChannel);
    return bus;
  }

  /** Where the bus listens, host:port (on a cluster, one of its nodes). */
  get listeningOn(): string {
    return this.#subscriber.node;
  }

  publish(message: BusMessage): void {
    this.#deliver(message);
    if (message.kind === 'changes') {
      this.#pendingChanges.set(message.boardId, message);
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flushChanges());
      }
      return;
    }
    this.#send(this.#registryChannel, message);
  }

  subscribe(listener: BusListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async watch(boardId: string): Promise<() => void> {
    const count = this.#watchers.get(boardId) ?? 0;
    this.#watchers.set(boardId, count + 1);
    if (count === 0) await this.#subscriber.subscribe(this.#changesChannel(boardId));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#watchers.get(boardId) ?? 1) - 1;
      if (left > 0) {
        this.#watchers.set(boardId, left);
        return;
      }
      this.#watchers.delete(boardId);
      this.#subscriber.unsubscribe(this.#changesChannel(boardId)).catch((err: unknown) => this.#options.onError?.(err));
    };
  }

  /** Boards watched by this process now (tests, metrics). */
  get watchedBoards(): number {
    return this.#watchers.size;
  }

  async close(): Promise<void> {
    this.#flushChanges();
    this.#listeners.clear();
    this.#subscriber.close();
  }

  #changesChannel(boardId: string): string {
    return `${this.#prefix}changes:${boardId}`;
  }

  #flushChanges(): void {
    this.#flushScheduled = false;
    for (const message of this.#pendingChanges.values()) {
      if (message.kind === 'changes') this.#send(this.#changesChannel(message.boardId), message);
    }
    this.#pendingChanges.clear();
  }

  #send(channel: string, message: BusMessage): void {
    const envelope: Envelope = { origin: this.#origin, message };
    this.#publisher.publish(channel, JSON.stringify(envelope)).catch((err: unknown) => this.#options.onError?.(err));
  }

  #receive(channel: string, payload: string): void {
    let envelope: Envelope;
    try {
      envelope = JSON.parse(payload) as Envelope;
    } catch (err) {
      this.#options.onError?.(new Error(`unreadable bus message on ${channel}`, { cause: err }));
      return;
    }
    if (envelope.origin === this.#origin) return;
    this.#deliver(envelope.message);
  }

  #deliver(message: BusMessage): void {
    for (const listener of this.#listeners) {
      try {
        listener(message);
      } catch (err) {
        this.#options.onError?.(err);
      }
    }
  }

  #caughtUp(): void {
    for (const boardId of this.#watchers.keys()) this.#deliver({ kind: 'board_reset', boardId });
    this.#options.onResubscribed?.();
  }
}
