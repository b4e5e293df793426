/**
 * Rewrites the README's configuration and error tables from their single
 * sources (src/core/config.ts, src/core/errors.ts): `npm run docs`.
 * test/readme.test.ts fails when the README is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { configTable } from '../src/core/config.js';
import { ErrorCodes } from '../src/core/errors.js';

export function errorTable(): string {
  const rows = Object.entries(ErrorCodes).map(([code, cause]) => `| \`${code}\` | ${cause.status} | ${cause.doc} |`);
  return ['| code | status | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

/** The README with both generated sections replaced. */
export function renderReadme(readme: string): string {
  const section = (text: string, name: string, table: string) =>
    text.replace(new RegExp(`<!-- ${name}:start -->[\\s\\S]*?<!-- ${name}:end -->`), `<!-- ${name}:start -->\n${table}\n<!-- ${name}:end -->`);
  return section(section(readme, 'config', configTable()), 'errors', errorTable());
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const path = new URL('../README.md', import.meta.url);
  writeFileSync(path, renderReadme(readFileSync(path, 'utf8')));
}
