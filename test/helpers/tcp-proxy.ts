/** A TCP proxy for the tests that cut a service off: stopped, stalled, resumed. */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of PostgreSQL (or Redis) that the test stops (the listener
 * closed and every piped connection cut, as when the database host goes
 * away) and starts again on the same port, or stalls (nothing forwarded any
 * more, as when the database hangs).
 */
export class TcpProxy {
  #server: Server | null = null;
  readonly #sockets = new Set<Socket>();
  #port = 0;
  #stalled = false;

  private constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  /** A proxy to the server of `target` (a postgres:// or redis:// URL). */
  static async start(target: URL): Promise<TcpProxy> {
    const proxy = new TcpProxy(target.hostname, Number(target.port || (target.protocol.startsWith('redis') ? 6379 : 5432)));
    await proxy.resume();
    return proxy;
  }

  /** `url` (a postgres:// or redis:// URL) through this proxy. */
  via(url: string): string {
    const proxied = new URL(url);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(this.#port);
    return proxied.toString();
  }

  /** Listens again, on the port of the first start. */
  async resume(): Promise<void> {
    if (this.#server !== null) return;
    const server = createServer((client) => {
      const upstream = connect(this.targetPort, this.targetHost);
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
      if (this.#stalled) TcpProxy.#hold(client, upstream);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, '127.0.0.1', () => resolve());
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** Forwards nothing more, either way, on the open connections and on those to come; they stay open. */
  stall(): void {
    this.#stalled = true;
    for (const socket of this.#sockets) TcpProxy.#hold(socket);
  }

  static #hold(...sockets: Socket[]): void {
    for (const socket of sockets) {
      socket.unpipe();
      socket.pause();
    }
  }

  /** Refuses new connections and cuts the open ones. */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    this.#stalled = false;
    for (const socket of this.#sockets) socket.destroy();
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
