/**
 * The period picker: a select of the live standings and the board's closed
 * periods, newest first, each with its winner. Picking one asks for it
 * (the dashboard routes to it); the picker shows what is on screen.
 */
import type { PeriodInfo } from '../client/index.js';

/** The value of the live standings' option; closed periods' options carry their id. */
const liveValue = '';

export class PeriodPicker {
  constructor(
    private readonly select: HTMLSelectElement,
    onPick: (periodId: string | null) => void,
  ) {
    select.addEventListener('change', () => onPick(select.value === liveValue ? null : select.value));
  }

  /**
   * Lists the live period (its id, or null for a board without resets) and
   * the closed ones, and selects `shown` (null: live). A shown period the
   * list lacks (older than its page) is listed too.
   */
  render(live: string | null, closed: readonly PeriodInfo[], shown: string | null): void {
    const choices: [value: string, label: string][] = [[liveValue, live === null ? 'Live' : `Live · ${live}`]];
    for (const period of closed) {
      choices.push([period.period, `${period.period} · ${period.leader === null ? 'no entries' : `won by ${period.leader.participant_id}`}`]);
    }
    if (shown !== null && !closed.some((period) => period.period === shown)) choices.push([shown, shown]);
    // Rebuilt only when the choices change, so that an open list does not flicker.
    const current = [...this.select.options].map((option) => `${option.value}\n${option.text}`).join('\n');
    if (choices.map(([value, label]) => `${value}\n${label}`).join('\n') !== current) {
      this.select.replaceChildren(...choices.map(([value, label]) => new Option(label, value)));
    }
    this.select.value = shown ?? liveValue;
  }
}
