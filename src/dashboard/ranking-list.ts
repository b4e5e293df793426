/**
 * A live ranked list in the DOM. Rows are keyed by participant and reused, so
 * a participant who moves keeps its element: the list measures where each row
 * was, reorders, and slides rows from their old place to the new one (FLIP).
 * A row whose participant scored (moved up or down, entered the list, or
 * just changed score) flashes and shows its movement for a few seconds; a row
 * that only shifted because others passed it shows a quiet marker.
 */
import type { ViewEntry } from '../client/index.js';
import { formatAge } from './format.js';

type Movement = 'up' | 'down' | 'new' | 'score';

interface Row {
  readonly element: HTMLLIElement;
  readonly rank: HTMLSpanElement;
  readonly move: HTMLSpanElement;
  readonly name: HTMLSpanElement;
  readonly when: HTMLSpanElement;
  readonly score: HTMLSpanElement;
  readonly flash: HTMLSpanElement;
  entry: ViewEntry;
  /** When the marker was set; 0 when none shows. */
  movedAt: number;
  /** Whether the marker shows the participant's own move rather than a shift caused by others. */
  active: boolean;
}

export interface RankingListOptions {
  formatScore(score: number): string;
  /** A row was clicked (or activated with the keyboard). */
  onSelect(participantId: string): void;
  /**
   * Whether entering the list is news. It is for a top-N (a participant made
   * the top); in a window around a participant, rows come and go whenever
   * that participant moves.
   */
  readonly markNewcomers: boolean;
}

/** How long a movement marker stays. */
const markerMs = 6000;
const slideMs = 450;

export class RankingList {
  private rows = new Map<string, Row>();
  /** Nothing moved before the first render: no markers for it. */
  private rendered = false;
  private highlighted: string | null = null;

  constructor(
    private readonly root: HTMLOListElement,
    private readonly options: RankingListOptions,
  ) {}

  /** Shows these entries, in this order, animating what changed since the last call. */
  render(entries: readonly ViewEntry[]): void {
    const animate = this.rendered && !matchMedia('(prefers-reduced-motion: reduce)').matches;
    const before = new Map<string, number>();
    if (animate) for (const [id, row] of this.rows) before.set(id, row.element.getBoundingClientRect().top);

    const next = new Map<string, Row>();
    const now = Date.now();
    for (const entry of entries) {
      const previous = this.rows.get(entry.participant_id);
      const row = previous ?? this.createRow(entry);
      if (this.rendered) this.mark(row, previous?.entry, entry, now, animate);
      row.entry = entry;
      this.fill(row, now);
      next.set(entry.participant_id, row);
    }
    for (const [id, row] of this.rows) if (!next.has(id)) row.element.remove();
    this.rows = next;

    let cursor = this.root.firstElementChild;
    for (const row of next.values()) {
      if (row.element === cursor) cursor = cursor.nextElementSibling;
      else this.root.insertBefore(row.element, cursor);
    }

    if (animate) this.slide(before);
    this.rendered = true;
  }

  /** Marks one participant's row (the tracked one). */
  highlight(participantId: string | null): void {
    this.highlighted = participantId;
    for (const [id, row] of this.rows) row.element.classList.toggle('tracked-row', id === participantId);
  }

  /** Refreshes ages and retires old movement markers; call about once a second. */
  tick(now: number): void {
    for (const row of this.rows.values()) {
      row.when.textContent = formatAge(row.entry.achieved_at, now);
      if (row.movedAt !== 0 && now - row.movedAt > markerMs) {
        row.movedAt = 0;
        row.move.textContent = '';
        delete row.element.dataset.move;
        delete row.element.dataset.passive;
      }
    }
  }

  clear(): void {
    this.root.replaceChildren();
    this.rows.clear();
    this.rendered = false;
  }

  private createRow(entry: ViewEntry): Row {
    const element = document.createElement('li');
    element.className = 'row';
    element.tabIndex = 0;
    element.dataset.pid = entry.participant_id;
    const flash = span('flash');
    const rank = span('rank');
    const move = span('move');
    const who = span('who');
    const name = span('name');
    const when = span('when');
    who.append(name, when);
    const score = span('score');
    element.append(flash, rank, move, who, score);
    element.addEventListener('click', () => this.options.onSelect(entry.participant_id));
    element.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        this.options.onSelect(entry.participant_id);
      }
    });
    return { element, rank, move, name, when, score, flash, entry, movedAt: 0, active: false };
  }

  private fill(row: Row, now: number): void {
    const { entry } = row;
    row.element.dataset.rank = String(entry.rank);
    row.element.classList.toggle('tracked-row', entry.participant_id === this.highlighted);
    row.rank.textContent = String(entry.rank);
    // The profile's display name when it sets one; the id stays in the tooltip.
    row.name.textContent = entry.display_name ?? entry.participant_id;
    row.name.title = entry.participant_id;
    row.when.textContent = formatAge(entry.achieved_at, now);
    row.score.textContent = this.options.formatScore(entry.score);
  }

  private mark(row: Row, previous: ViewEntry | undefined, entry: ViewEntry, now: number, animate: boolean): void {
    const movement = movementOf(previous, entry);
    if (movement === null || (movement === 'new' && !this.options.markNewcomers)) return;
    const active = previous === undefined || previous.score !== entry.score;
    // Being passed does not hide a recent move of one's own.
    if (!active && row.active && now - row.movedAt <= markerMs) return;
    row.element.dataset.move = movement;
    row.element.toggleAttribute('data-passive', !active);
    row.movedAt = now;
    row.active = active;
    const from = previous?.rank ?? entry.rank;
    row.move.textContent = { up: `▲ ${from - entry.rank}`, down: `▼ ${entry.rank - from}`, new: 'NEW', score: '' }[movement];
    if (active && animate) row.flash.animate([{ opacity: 1 }, { opacity: 0 }], { duration: 1600, easing: 'ease-out' });
  }

  /** FLIP: each row that moved starts where it was drawn before and slides into place. */
  private slide(before: Map<string, number>): void {
    for (const [id, row] of this.rows) {
      const top = before.get(id);
      for (const animation of row.element.getAnimations()) animation.cancel();
      if (top === undefined) {
        row.element.animate([{ opacity: 0, transform: 'translateX(-12px)' }, { opacity: 1, transform: 'none' }], { duration: slideMs, easing: 'ease-out' });
        continue;
      }
      const offset = top - row.element.getBoundingClientRect().top;
      if (Math.abs(offset) < 1) continue;
      row.element.animate([{ transform: `translateY(${offset}px)` }, { transform: 'none' }], { duration: slideMs, easing: 'cubic-bezier(0.2, 0.8, 0.2, 1)' });
    }
  }
}

function movementOf(previous: ViewEntry | undefined, entry: ViewEntry): Movement | null {
  if (previous === undefined) return 'new';
  if (entry.rank < previous.rank) return 'up';
  if (entry.rank > previous.rank) return 'down';
  return entry.score !== previous.score ? 'score' : null;
}

function span(className: string): HTMLSpanElement {
  const element = document.createElement('span');
  element.className = className;
  return element;
}
