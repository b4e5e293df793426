// Bundles the dashboard (src/dashboard) into dist/public: index.html, and
// assets/app-<hash>.js and assets/styles-<hash>.css, whose content-hashed
// names let src/http/dashboard.ts serve them with an immutable cache header.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { stdout } from 'node:process';
import { fileURLToPath, URL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const source = `${root}src/dashboard`;
const output = `${root}dist/public`;

rmSync(output, { recursive: true, force: true });
mkdirSync(`${output}/assets`, { recursive: true });

const result = await build({
  entryPoints: { app: `${source}/app.ts`, styles: `${source}/styles.css` },
  outdir: `${output}/assets`,
  entryNames: '[name]-[hash]',
  bundle: true,
  format: 'esm',
  // Browsers with WebSocket, fetch streams, CSS color-mix() and :has().
  target: ['chrome111', 'edge111', 'firefox121', 'safari16.5'],
  minify: true,
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning',
});

/** The hashed file each entry became, e.g. `app` -> `assets/app-5JQ2K3XH.js`. */
const built = {};
for (const [path, meta] of Object.entries(result.metafile.outputs)) {
  if (meta.entryPoint !== undefined && !path.endsWith('.map')) built[basename(path).split('-')[0]] = `assets/${basename(path)}`;
}

const html = readFileSync(`${source}/index.html`, 'utf8')
  .replace('href="styles.css"', `href="${built.styles}"`)
  .replace('src="app.js"', `src="${built.app}"`);
if (!html.includes(built.styles) || !html.includes(built.app)) {
  throw new Error('src/dashboard/index.html must reference styles.css and app.js');
}
writeFileSync(`${output}/index.html`, html);
stdout.write(`dashboard built into dist/public (${built.app}, ${built.styles})\n`);
