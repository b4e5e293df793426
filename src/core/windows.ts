/**
 * Which ranks a query shows (README "Rankings", docs/protocol.md "Views").
 * One rule for REST and for live views, so that `?around=` and an
 * `{around, radius}` subscription show the same entries.
 */

export interface RankSpan {
  /** Ranks offset+1 .. offset+limit. */
  readonly offset: number;
  readonly limit: number;
}

/**
 * The window of `size` entries around the entry at `rank` on a board of
 * `total`: centred on it (with an even size, the extra entry is below), and
 * shifted inward at the top and the bottom of the board so that it always
 * holds min(size, total) entries. At rank 1 it shows ranks 1..size; at the
 * last rank, the last `size` ranks.
 */
export function aroundSpan(rank: number, total: number, size: number): RankSpan {
  const centred = rank - 1 - Math.floor((size - 1) / 2);
  const offset = Math.max(0, Math.min(centred, total - size));
  return { offset, limit: size };
}

/** The window size of a live `{around, radius}` view: the participant and `radius` entries on each side. */
export function aroundViewSize(radius: number): number {
  return 2 * radius + 1;
}

/**
 * A participant and up to `radius` neighbours above and below, cut off at the
 * top and bottom of the board (not shifted): the participant answer's
 * `neighbors`.
 */
export function neighborSpan(rank: number, radius: number): RankSpan {
  const offset = Math.max(0, rank - 1 - radius);
  return { offset, limit: rank + radius - offset };
}
