/**
 * Server-Sent Events over fetch rather than EventSource: fetch can send
 * `Authorization` and a `Last-Event-ID` of our choosing on a fresh
 * connection, and it exists in Node 20, which has no EventSource.
 * Reconnects with full-jitter backoff and resumes from the local version.
 *
 * Event ids are the server's business (`<epoch>-<version>` today), so the
 * feed never builds one: it sends back the id of the event that brought the
 * local copy where it stands, as it came, or no Last-Event-ID at all.
 */
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { errorFromResponse } from './errors.js';
import { LoopFeed, sleep, type FeedListener, type ResumePoint } from './feed.js';
import { boardPath, send, type HttpContext } from './http.js';
import { parseServerMessage, rankingFields, type RankingOf, type ServerMessage, type View } from './protocol.js';

export class SseFeed extends LoopFeed {
  private failures = 0;
  /** The id of the last event that carried one, and where the state it brought stands. */
  private lastEvent: (ResumePoint & { readonly id: string }) | null = null;

  constructor(
    private readonly http: HttpContext,
    private readonly boardId: string,
    private readonly view: View,
    listener: FeedListener,
    private readonly backoff: BackoffOptions,
    /** A stream silent for this long counts as dead; the server sends a comment every LADDER_HEARTBEAT_MS. */
    private readonly idleMs: number,
    private readonly ranking: RankingOf = {},
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
    const lastEventId = this.lastEventId();
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (lastEventId !== null) headers['last-event-id'] = lastEventId;
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
      const query = { view: JSON.stringify(this.view), ...rankingFields(this.ranking) };
      const response = await send(this.http, boardPath(this.boardId, '/events'), { query, headers, signal: stream.signal });
      if (!response.ok) throw await errorFromResponse(response);
      if (response.body === null) return false;
      for await (const event of events(response.body, heard)) {
        const message = parseServerMessage(event.data);
        if (message === null || signal.aborted) continue;
        const state = stateAfter(message);
        if (event.id !== null && state !== null) this.lastEvent = { id: event.id, ...state };
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

  /**
   * What to resume from: the id of the last event applied, when the local
   * copy still stands where that event brought it. A copy that another
   * transport brought further, or none at all, sends no Last-Event-ID and
   * gets a snapshot.
   */
  private lastEventId(): string | null {
    const since = this.listener.resumePoint();
    const last = this.lastEvent;
    if (since === null || last === null || last.version !== since.version || last.epoch !== since.epoch) return null;
    return last.id;
  }
}

/** Where a message brings its view (version within epoch), for those that carry the view's state. */
function stateAfter(message: ServerMessage): ResumePoint | null {
  switch (message.type) {
    case 'snapshot':
    case 'resumed':
      return { version: message.version, epoch: message.epoch };
    case 'delta':
      return { version: message.to_version, epoch: message.epoch };
    default:
      return null;
  }
}

export interface StreamEvent {
  /** The event's `id:`, or null when it had none. */
  readonly id: string | null;
  readonly data: string;
}

/** Each event in an event stream (the WHATWG "event stream interpretation", minus what Ladder does not use). */
export async function* events(body: ReadableStream<Uint8Array>, onChunk: () => void = () => undefined): AsyncGenerator<StreamEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let data: string[] = [];
  let id: string | null = null;
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
          if (data.length > 0) yield { id, data: data.join('\n') };
          data = [];
          id = null;
        } else if (line.startsWith('data:')) {
          data.push(fieldValue(line, 5));
        } else if (line.startsWith('id:')) {
          id = fieldValue(line, 3);
        }
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/** A field's value: the line from `start` (just after the colon), minus one leading space. */
function fieldValue(line: string, start: number): string {
  return line.slice(line.startsWith(' ', start) ? start + 1 : start);
}
