/**
 * The demo's simulated players: readable handles, a hidden skill that decides
 * how well they score, and an activity weight that decides how often they
 * play (a few play a lot, most now and then, as in real games).
 */

export interface Player {
  readonly id: string;
  /** Standard normal: 0 is average, 2 is the top few percent. */
  readonly skill: number;
  /** Relative share of the submissions this player makes. */
  readonly activity: number;
}

const adjectives = [
  'swift', 'silent', 'crimson', 'lucky', 'frost', 'neon', 'iron', 'hidden', 'golden', 'rapid',
  'brave', 'shadow', 'cosmic', 'wild', 'steady', 'electric', 'mellow', 'atomic', 'velvet', 'rogue',
];
const nouns = [
  'otter', 'falcon', 'panda', 'comet', 'viper', 'lynx', 'raven', 'badger', 'tiger', 'fox',
  'orca', 'moose', 'heron', 'wolf', 'gecko', 'mantis', 'bison', 'koala', 'cobra', 'yak',
];

export type Random = () => number;

/** Standard normal deviate (Box–Muller). */
export function gaussian(random: Random): number {
  const u = 1 - random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

export function createPlayers(count: number, random: Random): Player[] {
  const players: Player[] = [];
  const taken = new Set<string>();
  while (players.length < count) {
    const adjective = adjectives[Math.floor(random() * adjectives.length)]!;
    const noun = nouns[Math.floor(random() * nouns.length)]!;
    const id = `${adjective}-${noun}-${Math.floor(random() * 100)}`;
    if (taken.has(id)) continue;
    taken.add(id);
    // Pareto(α = 1.2): a long tail of regulars.
    const activity = Math.min(50, (1 - random()) ** (-1 / 1.2));
    players.push({ id, skill: gaussian(random), activity });
  }
  return players;
}

/** Draws players in proportion to their activity. Complexity: O(log n) per draw. */
export class PlayerPicker {
  private readonly cumulative: number[] = [];

  constructor(private readonly players: readonly Player[]) {
    let sum = 0;
    for (const player of players) this.cumulative.push((sum += player.activity));
  }

  pick(random: Random): Player {
    const target = random() * (this.cumulative[this.cumulative.length - 1] ?? 0);
    let low = 0;
    let high = this.cumulative.length - 1;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (this.cumulative[mid]! <= target) low = mid + 1;
      else high = mid;
    }
    return this.players[low]!;
  }
}
