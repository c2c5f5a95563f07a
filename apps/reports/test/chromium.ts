// Headless Chromium from Debian (never a downloaded browser: `apt-get install -y chromium`), for the
// dashboard's test and its bench. The background-networking flags keep it from dialling out, which
// this machine's closed network refuses.
import { type Browser, chromium } from 'playwright-core';

const CHROMIUM = process.env.EARSHOT_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}
