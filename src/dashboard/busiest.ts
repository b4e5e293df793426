/** Which board the dashboard opens when the URL names none. */
import type { Board } from '../client/index.js';

/**
 * The busiest board between two reads of the board list taken a moment
 * apart: the one whose version rose most (a version rises by one per change
 * to the ranking, so that is the board changing most right now). When none
 * rose, the one with the highest version (the most changed ever), so that an
 * idle server still opens on its main board. Ties go to the first in list
 * (id) order; a board missing from the earlier read has no known rise (0).
 * Null without boards.
 */
export function busiestBoard(earlier: readonly Board[], later: readonly Board[]): Board | null {
  const before = new Map(earlier.map((board) => [board.id, board.version]));
  const rise = (board: Board): number => board.version - (before.get(board.id) ?? board.version);
  const mostRisen = later.reduce<Board | null>((top, board) => (top === null || rise(board) > rise(top) ? board : top), null);
  if (mostRisen === null || rise(mostRisen) > 0) return mostRisen;
  return later.reduce((top, board) => (board.version > top.version ? board : top));
}
