/**
 * Figures of every benchmark in one shape, the combined table printed at the
 * end of `npm run bench`, and the JSON written to bench/results/.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';

/** A goal holds for the figure's value, or for its ratio to its anchor. */
export interface Goal {
  readonly of: 'value' | 'ratio';
  readonly atLeast?: number;
  readonly atMost?: number;
}

/** The figure divided by the same figure of an anchor measured in the same run. */
export interface Ratio {
  readonly name: string;
  readonly value: number;
  readonly ratio: number;
}

export interface Figure {
  /** Which benchmark: engine, http, fanout. */
  readonly bench: string;
  readonly name: string;
  readonly value: number;
  /** e.g. req/s, scores/s, ms, B, cores; '' for a plain number. */
  readonly unit: string;
  readonly goal?: Goal;
  /** The anchor the goal (of a ratio) is judged against. */
  readonly anchor?: Ratio;
  /** Ratios to the other anchors of the same run, printed after the first. */
  readonly comparisons?: readonly Ratio[];
  readonly note?: string;
}

export function ratioTo(name: string, value: number, anchorValue: number | undefined | null): Ratio | undefined {
  if (anchorValue === undefined || anchorValue === null || !(anchorValue > 0)) return undefined;
  return { name, value: anchorValue, ratio: value / anchorValue };
}

/** True, false, or null when the figure has no goal or nothing to judge it by. */
export function goalMet(figure: Figure): boolean | null {
  const goal = figure.goal;
  if (goal === undefined) return null;
  const subject = goal.of === 'value' ? figure.value : figure.anchor?.ratio;
  if (subject === undefined || !Number.isFinite(subject)) return null;
  if (goal.atLeast !== undefined && subject < goal.atLeast) return false;
  if (goal.atMost !== undefined && subject > goal.atMost) return false;
  return true;
}

export function formatNumber(value: number, unit = ''): string {
  if (Number.isNaN(value)) return '-';
  if (!Number.isFinite(value)) return String(value);
  if (unit === 'ms') return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
  if (unit === 'cores' || unit === '×') return value.toFixed(2);
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  if (Number.isInteger(value)) return String(value);
  return value.toFixed(Math.abs(value) >= 10 ? 1 : 2);
}

function goalText(figure: Figure): string {
  const goal = figure.goal;
  if (goal === undefined) return '';
  const parts: string[] = [];
  const suffix = goal.of === 'ratio' ? `× ${figure.anchor?.name ?? 'anchor'}` : ` ${figure.unit}`.trimEnd();
  if (goal.atLeast !== undefined) parts.push(`≥ ${formatNumber(goal.atLeast)}${suffix}`);
  if (goal.atMost !== undefined) parts.push(`≤ ${formatNumber(goal.atMost)}${suffix}`);
  const met = goalMet(figure);
  return `${parts.join(', ')} ${met === null ? '(n/a)' : met ? 'met' : 'MISSED'}`;
}

function anchorText(figure: Figure): string {
  const ratios = [figure.anchor, ...(figure.comparisons ?? [])].filter((r): r is Ratio => r !== undefined);
  return ratios.map((r) => `${r.ratio.toFixed(2)}× ${r.name}`).join(', ');
}

/** Only the ratios that exist: `comparisons` without the missing anchors, or nothing. */
export function ratios(...list: (Ratio | undefined)[]): { comparisons?: readonly Ratio[] } {
  const known = list.filter((r): r is Ratio => r !== undefined);
  return known.length === 0 ? {} : { comparisons: known };
}

/** The combined table: one line per figure, columns aligned. */
export function table(figures: readonly Figure[]): string {
  const rows = figures.map((f) => [f.bench, f.name, `${formatNumber(f.value, f.unit)} ${f.unit}`.trimEnd(), goalText(f), anchorText(f), f.note ?? '']);
  const header = ['bench', 'figure', 'value', 'goal', 'ratio to anchor', 'note'];
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((row) => (row[c] ?? '').length)));
  const line = (row: string[]) =>
    row
      .map((cell, c) => (c === 2 ? cell.padStart(widths[c] as number) : cell.padEnd(widths[c] as number)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function unitOf(key: string): string {
  if (/_per_s$|per_second$/.test(key)) return '/s';
  if (/_ms$/.test(key)) return 'ms';
  if (/bytes/.test(key)) return 'B';
  return '';
}

/**
 * Figures from another benchmark's result: its own `figures` array when it
 * has one of this shape, otherwise every numeric leaf (up to three levels
 * deep) named by its key path.
 */
export function figuresFrom(bench: string, result: unknown): Figure[] {
  if (typeof result !== 'object' || result === null) {
    return typeof result === 'number' ? [{ bench, name: 'result', value: result, unit: '' }] : [];
  }
  const own = (result as { figures?: unknown }).figures;
  // A figure that went through JSON (a benchmark run in a child process) has null where it had NaN.
  const isFigure = (f: unknown) =>
    typeof f === 'object' && f !== null && typeof (f as Figure).name === 'string' && (typeof (f as Figure).value === 'number' || (f as Figure).value === null);
  if (Array.isArray(own) && own.every(isFigure)) {
    return (own as Figure[]).map((f) => ({ ...f, bench: f.bench ?? bench, value: f.value ?? NaN, unit: f.unit ?? '' }));
  }
  const figures: Figure[] = [];
  const walk = (value: unknown, path: string[], depth: number) => {
    if (typeof value === 'number') figures.push({ bench, name: path.join('.'), value, unit: unitOf(path.at(-1) ?? '') });
    else if (typeof value === 'object' && value !== null && !Array.isArray(value) && depth < 3) {
      for (const [key, inner] of Object.entries(value)) walk(inner, [...path, key], depth + 1);
    }
  };
  walk(result, [], 0);
  return figures;
}

export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly node: string;
  readonly os: string;
  readonly commit: string | null;
  readonly dirty: boolean | null;
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  const head = spawnSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' });
  const status = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' });
  return {
    cpus: list.length,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${process.platform} ${release()}`,
    commit: head.status === 0 ? head.stdout.trim() : null,
    dirty: status.status === 0 ? status.stdout.trim() !== '' : null,
  };
}

/** Writes `report` to <dir>/<timestamp>.json and <dir>/latest.json (each via a .tmp and a rename). */
export function writeResults(dir: string, startedAt: Date, report: unknown): string {
  mkdirSync(dir, { recursive: true });
  const name = `${startedAt.toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')}.json`;
  const text = `${JSON.stringify(report, null, 2)}\n`;
  for (const file of [name, 'latest.json']) {
    const path = join(dir, file);
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
  }
  return join(dir, name);
}
