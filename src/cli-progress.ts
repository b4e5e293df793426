/** The CLI's progress bar on stderr (`ladder rebuild`, `ladder import`), redrawn in place. */

const WIDTH = 24;

/** `\r[#####.....] <text>`: `done` of `of` filled, the rest of the line cleared. */
export function progressBar(done: number, of: number, text: string): string {
  const filled = of <= 0 ? WIDTH : Math.min(WIDTH, Math.max(0, Math.round((done / of) * WIDTH)));
  return `\r[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${text}\x1b[K`;
}

/** A count the way the progress lines print it: 1,234,567. */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}
