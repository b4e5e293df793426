/**
 * What the fan-out tells whoever measures it (the metrics of http/metrics.ts),
 * without the feed knowing how it is measured. Each call is made on a hot
 * path (a message per socket), so an implementation must stay cheap.
 */
export interface FeedObserver {
  /** A tick read its dirty boards and handed every delta to the sockets; `seconds` from its start. */
  ticked(seconds: number): void;
  /** One message (delta, snapshot, control message) of `bytes` UTF-8 bytes went to a socket's transport. */
  delivered(bytes: number): void;
  /** A slow socket skipped a delta (or a resync): it gets a snapshot once it drains. */
  skipped(): void;
  /** A socket past LADDER_MAX_SOCKET_BYTES of unsent bytes was closed (4008). */
  closedSlow(): void;
}

export const NO_FEED_OBSERVER: FeedObserver = {
  ticked: () => undefined,
  delivered: () => undefined,
  skipped: () => undefined,
  closedSlow: () => undefined,
};
