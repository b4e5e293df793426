/** `--name=value` and `--flag` command-line options of the benchmark programs. */
export type Flags = ReadonlyMap<string, string>;

export function parseFlags(argv: readonly string[]): Flags {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    const match = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/.exec(arg);
    if (match === null) throw new Error(`unknown argument '${arg}' (options look like --name=value or --flag)`);
    flags.set(match[1] as string, match[2] ?? 'true');
  }
  return flags;
}

export function numberFlag(flags: Flags, name: string): number | undefined {
  const raw = flags.get(name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, got '${raw}'`);
  return value;
}

export function booleanFlag(flags: Flags, name: string): boolean {
  const raw = flags.get(name);
  return raw !== undefined && raw !== 'false' && raw !== '0';
}

/** A count that may be 0 (`--restarts=0` skips them). */
export function countFlag(flags: Flags, name: string): number | undefined {
  const raw = flags.get(name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} must be a whole number ≥ 0, got '${raw}'`);
  return value;
}
