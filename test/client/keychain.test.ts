/**
 * Credentials in a real OS keychain: keytar against a real Secret Service (gnome-keyring-daemon
 * inside its own dbus-run-session, with a throwaway HOME). One `vpm login` process stores the
 * password and session; a second process signs in from the keychain alone; `vpm logout` removes
 * every item. No password or token file is written while a keychain is there.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VPM_ARGS } from '../helpers/cli';

const VPM = VPM_ARGS.join(' ');
import { startTestDataCenter, type TestDataCenter } from '../helpers/datacenter';

const run = promisify(execFile);
let dc: TestDataCenter;

beforeAll(async () => {
  dc = await startTestDataCenter();
  const c = dc.client();
  await c.signUp({
    username: 'keyuser',
    password: 'keychain password 1',
    name: 'Key User',
    originZip: '60601',
  });
}, 120_000);

afterAll(async () => {
  await dc?.close();
});

describe('keychain (keytar + Secret Service)', () => {
  it('a second process signs in from the keychain, and logout removes the items', async () => {
    const work = await mkdtemp(join(tmpdir(), 'vpm-keychain-'));
    const home = join(work, 'home');
    const vpmHome = join(work, 'vpm');
    const listItems = `node -e "require('keytar').findCredentials('virtual-postage-meter').then(c => console.log(JSON.stringify(c.map(x => x.account))))"`;
    const dropToken = `node -e "require('keytar').findCredentials('virtual-postage-meter').then(cs => Promise.all(cs.filter(c => c.account.startsWith('session:')).map(c => require('keytar').deletePassword('virtual-postage-meter', c.account))))"`;
    const script = [
      'set -e',
      `export HOME=${home} VPM_HOME=${vpmHome} VPM_SERVER=${dc.running.url} VPM_CA=${dc.running.caPath}`,
      'unset VPM_KEYCHAIN',
      `mkdir -p ${home}`,
      `eval "$(printf 'keyring\\n' | gnome-keyring-daemon --unlock --components=secrets)"`,
      `printf 'keychain password 1\\n' | node ${VPM} login --user keyuser --password-stdin`,
      `echo "ITEMS_AFTER_LOGIN $(${listItems})"`,
      `echo "FILES $(ls ${vpmHome} | tr '\\n' ' ')"`,
      dropToken,
      `echo "BALANCE $(node ${VPM} balance --json)"`,
      `node ${VPM} logout`,
      `echo "ITEMS_AFTER_LOGOUT $(${listItems})"`,
      `node ${VPM} balance --json || echo "EXIT_AFTER_LOGOUT $?"`,
    ].join('\n');
    const file = join(work, 'keychain.sh');
    await writeFile(file, script);
    const { stdout } = await run('dbus-run-session', ['--', 'bash', file], {
      cwd: process.cwd(),
      timeout: 180_000,
    });
    const line = (tag: string) =>
      stdout
        .split('\n')
        .find((l) => l.startsWith(`${tag} `))
        ?.slice(tag.length + 1) ?? '';

    const afterLogin = JSON.parse(line('ITEMS_AFTER_LOGIN')) as string[];
    expect(afterLogin.sort()).toEqual([
      `password:keyuser@${dc.running.url}`,
      `session:keyuser@${dc.running.url}`,
    ]);
    expect(line('FILES')).not.toContain('session.json');
    expect(stdout).not.toContain('No OS keychain here');
    // The token was removed: the second process signed in with the keychain's password.
    expect(JSON.parse(line('BALANCE'))).toMatchObject({ balanceCents: 0, ascendingCents: 0 });
    expect(JSON.parse(line('ITEMS_AFTER_LOGOUT'))).toEqual([]);
    expect(line('EXIT_AFTER_LOGOUT')).toBe('3');
    expect(await readdir(vpmHome)).not.toContain('session.json');
  });
});
