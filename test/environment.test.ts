/**
 * What the other tests need from the machine, each named with the command that provides it, so
 * that a missing tool or service is a failure that says what to do (no test is skipped for it).
 * `npm test` run as root installs and starts all of them (scripts/test-system.mjs).
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { PACKAGES } from '../scripts/test-system.mjs';

const found = (command: string) =>
  spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;

const TOOLS: [command: string, aptPackage: string, usedBy: string][] = [
  ['pdftoppm', 'poppler-utils', 'reading printed PDFs back'],
  ['pdfinfo', 'poppler-utils', 'page counts and sizes'],
  ['dmtxread', 'dmtx-utils', 'decoding printed Data Matrix symbols'],
  ['zint', 'zint', 'the reference Data Matrix encoder'],
  ['chromium', 'chromium', 'HTML printing and the renderer tests'],
  ['lpstat', 'cups-client', 'printer queues'],
  ['lp', 'cups-client', 'printing to the PDF queue'],
  ['gnome-keyring-daemon', 'gnome-keyring', 'the OS keychain test'],
  ['dbus-run-session', 'dbus', 'the OS keychain test'],
];

describe('the test machine', () => {
  it.each(TOOLS)('has %s (package %s, for %s)', (command, aptPackage) => {
    expect(PACKAGES).toContain(aptPackage);
    expect(
      found(command),
      `${command} not found: run npm test as root (it installs the packages), or sudo apt-get install ${aptPackage}`,
    ).toBe(true);
  });

  it('runs CUPS with the cups-pdf queue PDF', () => {
    const queue = spawnSync('lpstat', ['-p', 'PDF'], { encoding: 'utf8' });
    expect(
      queue.status === 0 && /enabled/.test(queue.stdout),
      'CUPS with the queue PDF is not running: sudo bash scripts/test-services.sh (npm test as root does it)',
    ).toBe(true);
  });

  it('has keytar built against libsecret', async () => {
    const keytar = await import('keytar').catch(() => undefined);
    expect(
      keytar,
      'keytar is not installed: install libsecret-1-dev (npm test as root does it), then run npm ci again',
    ).toBeDefined();
  });
});
