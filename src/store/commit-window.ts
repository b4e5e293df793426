/**
 * The window of a group commit (DESIGN.md "Embedded durability"): the calls
 * that arrive within it share one commit.
 */

/**
 * Calls `send` once `intervalMs` have passed, or with 0 once this turn of the
 * event loop is over, so that the calls of one turn still share a commit.
 * Returns what cancels it.
 */
export function openCommitWindow(intervalMs: number, send: () => void): () => void {
  if (intervalMs > 0) {
    const timer = setTimeout(send, intervalMs);
    return () => clearTimeout(timer);
  }
  const immediate = setImmediate(send);
  return () => clearImmediate(immediate);
}
