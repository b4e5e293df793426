// Bundles the dashboard (src/dashboard) into dist/public: index.html, and
// assets/app-<hash>.js and assets/styles-<hash>.css, whose content-hashed
// names let src/http/dashboard.ts serve them with an immutable cache header.
// The bundle is written beside dist/public and its files renamed into place
// (index.html last, as it names the others), so that a server running
// meanwhile (another browser test file's) never finds one missing or half
// written.
import { build } from 'esbuild';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { stdout } from 'node:process';
import { fileURLToPath, URL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const source = `${root}src/dashboard`;
const output = `${root}dist/public`;
const staging = `${root}dist/public-${process.pid}`;

rmSync(staging, { recursive: true, force: true });
mkdirSync(`${staging}/assets`, { recursive: true });

const result = await build({
  entryPoints: { app: `${source}/app.ts`, styles: `${source}/styles.css` },
  outdir: `${staging}/assets`,
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
writeFileSync(`${staging}/index.html`, html);

mkdirSync(`${output}/assets`, { recursive: true });
const assets = readdirSync(`${staging}/assets`);
for (const name of assets) renameSync(`${staging}/assets/${name}`, `${output}/assets/${name}`);
renameSync(`${staging}/index.html`, `${output}/index.html`);
for (const name of readdirSync(`${output}/assets`)) {
  if (!assets.includes(name)) rmSync(`${output}/assets/${name}`, { force: true });
}
rmSync(staging, { recursive: true, force: true });
stdout.write(`dashboard built into dist/public (${built.app}, ${built.styles})\n`);
