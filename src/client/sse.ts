/**
 * Server-Sent Events over fetch rather than EventSource: fetch can send
 * `Authorization` and a `Last-Event-ID` of our choosing on a fresh
 * connection, and it exists in Node 20, which has no EventSource.
 * Reconnects with full-jitter backoff and resumes from the local version.
 */
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { errorFromResponse } from './errors.js';
import { LoopFeed, sleep, type FeedListener } from './feed.js';
import { boardPath, send, type HttpContext } from './http.js';
import { parseServerMessage, type View } from './protocol.js';

export class SseFeed extends LoopFeed {
  private failures = 0;

  constructor(
    private readonly http: HttpContext,
    private readonly boardId: string,
    private readonly view: View,
    listener: FeedListener,
    private readonly backoff: BackoffOptions,
    /** A stream silent for this long counts as dead; the server sends a comment every LADDER_HEARTBEAT_MS. */
    private readonly idleMs: number,
  ) {
    super(listener);
    this.start();
  }

  protected async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let delivered = false;
      try {
        delivered = await this.stream(signal);
      } catch (err) {
        if (signal.aborted || this.stopOnFatal(err)) return;
      }
      if (signal.aborted) return;
      this.failures = delivered ? 0 : this.failures + 1;
      this.listener.down(this.failures);
      await sleep(backoffDelay(this.failures, this.backoff), signal);
    }
  }

  /** Reads one event stream until it ends; returns whether it delivered any message. */
  private async stream(signal: AbortSignal): Promise<boolean> {
    const since = this.listener.sinceVersion();
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (since !== null) headers['last-event-id'] = String(since);
    // A dead network delivers neither data nor an end, so silence is what gives it away.
    const stream = new AbortController();
    const abort = () => stream.abort();
    signal.addEventListener('abort', abort, { once: true });
    let idle = setTimeout(abort, this.idleMs);
    const heard = () => {
      clearTimeout(idle);
      idle = setTimeout(abort, this.idleMs);
    };
    let delivered = false;
    try {
      const query = { view: JSON.stringify(this.view) };
      const response = await send(this.http, boardPath(this.boardId, '/events'), { query, headers, signal: stream.signal });
      if (!response.ok) throw await errorFromResponse(response);
      if (response.body === null) return false;
      for await (const data of eventData(response.body, heard)) {
        const message = parseServerMessage(data);
        if (message === null || signal.aborted) continue;
        // An error event (the server then ends the stream) is no delivery: reconnects after it back off.
        if (message.type !== 'error') {
          delivered = true;
          this.failures = 0;
        }
        this.listener.message(message);
      }
      return delivered;
    } finally {
      clearTimeout(idle);
      signal.removeEventListener('abort', abort);
    }
  }
}

/** The `data` of each event in an event stream (the WHATWG "event stream interpretation", minus what Ladder does not use). */
export async function* eventData(body: ReadableStream<Uint8Array>, onChunk: () => void = () => undefined): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let data: string[] = [];
  // A chunk that ends in \r may be followed by one that starts with the \n of the same line break.
  let skipLineFeed = false;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) return;
      onChunk();
      let text = decoder.decode(value, { stream: true });
      if (skipLineFeed && text !== '') {
        if (text.startsWith('\n')) text = text.slice(1);
        skipLineFeed = false;
      }
      if (text === '') continue;
      skipLineFeed = text.endsWith('\r');
      const lines = (buffer + text).split(/\r\n|\r|\n/);
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        if (line === '') {
          if (data.length > 0) yield data.join('\n');
          data = [];
        } else if (line.startsWith('data:')) {
          data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
        }
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
