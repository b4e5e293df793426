/**
 * Runs one exported benchmark function in a process of its own, so that its
 * heap, JIT state and any crash stay out of the others' way (bench/run.ts):
 *
 *   node --expose-gc --import tsx bench/lib/child.ts <module> <export> <options JSON> <result file>
 *
 * Writes the function's result as JSON to <result file>.
 */
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [modulePath, exportName, optionsJson, resultFile] = process.argv.slice(2);
if (modulePath === undefined || exportName === undefined || optionsJson === undefined || resultFile === undefined) {
  process.stderr.write('usage: child.ts <module> <export> <options JSON> <result file>\n');
  process.exit(2);
}
const loaded = (await import(pathToFileURL(modulePath).href)) as Record<string, unknown>;
const bench = loaded[exportName];
if (typeof bench !== 'function') {
  process.stderr.write(`${modulePath} does not export a function named ${exportName}\n`);
  process.exit(3);
}
const result: unknown = await (bench as (options: unknown) => unknown)(JSON.parse(optionsJson));
writeFileSync(resultFile, JSON.stringify(result ?? null));
// A benchmark may leave servers or timers behind; its result is written, so end here.
process.exit(0);
