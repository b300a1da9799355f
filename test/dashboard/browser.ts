/**
 * Launching Debian's Chromium through playwright-core for the dashboard's browser tests and screenshots.
 * Never downloads a browser.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { skippedSuite } from '../helpers/backends.ts';

/** Where Debian installs Chromium (`apt-get install chromium`). */
export const CHROMIUM = process.env.CONVEYOR_TEST_CHROMIUM ?? '/usr/bin/chromium';

/** Null when Chromium is there; else the reason. Throws in CI, where the browser tests must run. */
export function chromiumMissing(): string | null {
  if (existsSync(CHROMIUM)) return null;
  const reason = `Chromium not found at ${CHROMIUM}: install Debian's package (apt-get install -y chromium); playwright's own browsers are never downloaded`;
  if (process.env.CI) throw new Error(`${reason} (CI is set: the dashboard browser tests must run, not skip)`);
  skippedSuite('dashboard browser tests', `${reason} (or set CONVEYOR_TEST_CHROMIUM)`);
  return reason;
}

/** Launch headless Chromium with the flags this machine kind needs. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
