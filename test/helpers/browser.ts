/**
 * Debian's Chromium for the dashboard's browser tests, driven by
 * playwright-core (nothing is downloaded). Without /usr/bin/chromium the
 * browser suites fail on CI and are skipped, loudly, elsewhere.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const chromiumPath = '/usr/bin/chromium';

const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

/** For `describe(..., { skip })`: false when Chromium is there (or on CI, where its absence fails); otherwise why not, said on stderr. */
export function skipWithoutChromium(): string | false {
  if (existsSync(chromiumPath) || process.env.CI) return false;
  process.stderr.write(`\n!!! ${chromiumPath} is missing: SKIPPING the dashboard browser test (apt-get install chromium). On CI this fails. !!!\n\n`);
  return `${chromiumPath} is missing`;
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(chromiumPath)) throw new Error(`${chromiumPath} is missing; the browser test needs Debian's chromium package`);
  return chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
}
