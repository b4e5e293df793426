/**
 * Seeded randomness for tests and benchmarks, so that a failing seed or a
 * benchmark's workload replays exactly. The bench/ scripts import it too.
 */

/** mulberry32: a tiny, fast, seeded generator of unsigned 32-bit integers. */
export function uint32s(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** mulberry32 as floats in [0, 1), like Math.random. */
export function random32(seed: number): () => number {
  const next = uint32s(seed);
  return () => next() / 4294967296;
}

/** A copy of `items` in random order (Fisher–Yates). */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}
