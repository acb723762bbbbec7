/**
 * Debian's Chromium for the tests (playwright-core, never a downloaded browser): one list of
 * flags, and the browser process watched, so that a browser that dies in the middle of a test
 * says how and what it printed on stderr, not only "Target page, context or browser has been
 * closed".
 */
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Shared memory in /tmp: a container's /dev/shm can be as small as 64 MB, and a renderer or a
  // PDF print that runs out of it takes the browser down.
  '--disable-dev-shm-usage',
];

/** Each launched browser's process ending. */
const ended = new WeakMap<Browser, Promise<void>>();

/**
 * Whether the browser's process has ended, or ends within `waitMs` (a call that failed because
 * the process died can fail before its exit is seen).
 */
export async function browserDied(browser: Browser, waitMs = 5000): Promise<boolean> {
  const end = ended.get(browser);
  if (!end) return !browser.isConnected();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), waitMs);
  });
  try {
    return await Promise.race([end.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The last lines the browser process printed, at most this many. */
const KEPT_LINES = 200;

/**
 * Launches headless Chromium (a Playwright browser server in this process, and a client of it);
 * if the browser process ends without being closed, how it ended and the last it printed go to
 * stderr. Closing the browser closes the server and its process.
 */
export async function launchChromium(options: { slowMo?: number } = {}): Promise<Browser> {
  const server = await chromium.launchServer({
    executablePath: CHROMIUM_PATH,
    args: CHROMIUM_ARGS,
    headless: true,
  });
  const lines: string[] = [];
  const child = server.process();
  child.stderr?.on('data', (chunk: Buffer) => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    lines.splice(0, Math.max(0, lines.length - KEPT_LINES));
  });
  let closing = false;
  child.on('exit', (code, signal) => {
    if (closing) return;
    process.stderr.write(
      `chromium: the browser process (pid ${child.pid}) ended without being closed, ` +
        `${signal ? `killed by ${signal}` : `exit code ${code}`}; the last it printed:\n` +
        `${lines.join('\n')}\n`,
    );
  });
  const browser = await chromium.connect(server.wsEndpoint(), {
    ...(options.slowMo === undefined ? {} : { slowMo: options.slowMo }),
  });
  ended.set(
    browser,
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    }),
  );
  const close = browser.close.bind(browser);
  browser.close = async (closeOptions) => {
    closing = true;
    await close(closeOptions).catch(() => undefined);
    await server.close();
  };
  return browser;
}
