/**
 * What an operator with file access finds under the data directory (issue 13, "Key custody"):
 * no key material in plaintext after init or after use, and no box file that can be edited or
 * swapped without the box refusing to start, naming itself.
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOX_NAMES, type BoxName } from '../../../server-mock/boxes/index';
import { startDataCenter } from '../../../server-mock/index';
import { boxSecretsOf, domainKeyOf } from '../../helpers/boxes';
import { startTestDataCenter, type TestDataCenter } from '../../helpers/datacenter';
import { filesUnder } from '../../helpers/files';
import { piece } from './support';

let t: TestDataCenter;
/** Every secret a quorum of custodians could reach: the domain key and each box's keys. */
const secrets = new Map<string, Buffer>();

beforeAll(async () => {
  t = await startTestDataCenter();
  secrets.set('domain key', await domainKeyOf(t.dir, t.shares));
  for (const box of BOX_NAMES)
    for (const [name, value] of Object.entries(await boxSecretsOf(t.dir, t.shares, box))) {
      secrets.set(`${box}.${name}`, value);
      // A private key in PKCS#8: its scalar too (the DER header is the same for every P-256 key).
      if (value.length > 64) {
        const jwk = createPrivateKey({ key: value, format: 'der', type: 'pkcs8' }).export({
          format: 'jwk',
        });
        secrets.set(`${box}.${name} scalar`, Buffer.from(jwk.d as string, 'base64url'));
      }
    }
  expect(secrets.size).toBeGreaterThan(8);
});
afterAll(async () => {
  await t.close();
});

/** Every plaintext form of every secret and share found in any file under DIR. */
function findings(): string[] {
  const needles: [string, Buffer][] = [];
  for (const [name, value] of secrets) {
    needles.push([`${name} (raw)`, value]);
    for (const encoding of ['hex', 'base64', 'base64url'] as const)
      needles.push([`${name} (${encoding})`, Buffer.from(value.toString(encoding))]);
    needles.push([`${name} (HEX)`, Buffer.from(value.toString('hex').toUpperCase())]);
  }
  for (const [i, share] of t.shares.entries()) {
    needles.push([`share ${i + 1}`, Buffer.from(share.split('.')[5] as string)]);
  }
  const found: string[] = [];
  for (const path of filesUnder(t.dir)) {
    const bytes = readFileSync(path);
    for (const [name, needle] of needles)
      if (bytes.includes(needle)) found.push(`${relative(t.dir, path)}: ${name}`);
  }
  return found;
}

describe('the data directory', () => {
  it('holds no key material and no share in plaintext after init', () => {
    expect(findings()).toEqual([]);
  });

  it('holds no key material in plaintext after sign-up, refill and printing, and no box file reads as keys', async () => {
    const c = await t.mailer();
    await c.refill({
      amountCents: 5000,
      cardNumber: '4242424242424242',
      idempotencyKey: 'refill-files-1',
    });
    await c.dispense({ pieces: [piece(73), piece(120)] });
    await t.restart(); // snapshot, log and database all on disk, boxes started again
    const again = await t.mailer();
    await again.refill({
      amountCents: 1000,
      cardNumber: '4242424242424242',
      idempotencyKey: 'refill-files-2',
    });
    await again.dispense({ pieces: [piece(73)] });
    expect(findings()).toEqual([]);
    for (const box of BOX_NAMES) {
      const keys = JSON.parse(readFileSync(join(t.dir, 'boxes', box, 'keys.json'), 'utf8')) as {
        keys?: unknown;
      };
      expect(Object.keys(keys).sort()).toEqual(['box', 'sealed', 'v']);
      const snapshot = readFileSync(join(t.dir, 'boxes', box, 'state.snap'), 'utf8');
      expect(Object.keys(JSON.parse(snapshot.split('\n')[0] as string)).sort()).toEqual([
        'box',
        'seq',
        'v',
      ]);
    }
  });
});

describe('a box file changed while the data center is stopped', () => {
  const path = (box: BoxName, file: string) => join(t.dir, 'boxes', box, file);
  beforeAll(async () => {
    await t.running.close();
  });

  /** Makes one change, starts, expects a refusal naming the box; then undoes the change. */
  async function expectRefusal(box: BoxName, change: () => void, pattern: RegExp): Promise<void> {
    const saved = new Map(
      BOX_NAMES.flatMap((b) =>
        ['keys.json', 'state.snap', 'state.log'].map((f) => [path(b, f), readFileSync(path(b, f))]),
      ),
    );
    change();
    const error = await startDataCenter({ dataDir: t.dir, port: 0, shares: t.shares }).then(
      async (running) => {
        await running.close();
        return undefined;
      },
      (e: unknown) => e as Error & { box?: string },
    );
    for (const [file, bytes] of saved) writeFileSync(file, bytes);
    expect(error, 'the data center started').toBeDefined();
    expect(error).toMatchObject({ code: 'TAMPERED', box });
    expect(error?.message).toMatch(new RegExp(`^box ${box}: tampered: `));
    expect(error?.message).toMatch(pattern);
  }

  const flipMiddle = (file: string) => () => {
    const bytes = readFileSync(file);
    expect(bytes.length).toBeGreaterThan(100);
    const at = Math.floor(bytes.length / 2);
    bytes[at] = bytes[at]! ^ (bytes[at] === 0x41 ? 0x03 : 0x01); // stays base64 in a text file
    writeFileSync(file, bytes);
  };

  it('refuses to start when the meter box log is edited mid-file', async () => {
    await expectRefusal('meter', flipMiddle(path('meter', 'state.log')), /state\.log/);
  });

  it('refuses to start when the steel box snapshot is edited mid-file', async () => {
    await expectRefusal('steel', flipMiddle(path('steel', 'state.snap')), /state\.snap/);
  });

  it("refuses to start when a box's snapshot or key file is swapped for another box's", async () => {
    await expectRefusal(
      'auth',
      () => writeFileSync(path('auth', 'state.snap'), readFileSync(path('txn', 'state.snap'))),
      /state\.snap/,
    );
    await expectRefusal(
      'meter',
      () => {
        const steel = JSON.parse(readFileSync(path('steel', 'keys.json'), 'utf8')) as object;
        writeFileSync(path('meter', 'keys.json'), JSON.stringify({ ...steel, box: 'meter' }));
      },
      /keys\.json does not open/,
    );
  });

  it("refuses to start when a log record is moved to another box's log", async () => {
    await expectRefusal(
      'steel',
      () => writeFileSync(path('steel', 'state.log'), readFileSync(path('meter', 'state.log'))),
      /state\.log/,
    );
  });
});
