/**
 * Test helper: the box harness entry (test-only behaviours switched by environment variables) and
 * the keys a test can reach with a quorum of shares, to play an insider who holds them.
 */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { combineShares } from '../../server-mock/boxes/custody';
import { boxFileKey, readKeyFile } from '../../server-mock/boxes/nvm';
import type { BoxName } from '../../server-mock/boxes/index';

/** Pass as `entry` to startBoxes (or `boxEntry` to startDataCenter) to honour VPM_BOX_* switches. */
export const TEST_BOX_ENTRY = fileURLToPath(new URL('./box-test-main.ts', import.meta.url));

/** The domain key, combined from the shares (what a quorum of custodians could do). */
export async function domainKeyOf(dir: string, shares: readonly string[]): Promise<Buffer> {
  return combineShares(
    dir,
    shares.map((text, i) => ({ source: `share ${i + 1}`, text })),
  );
}

/** One box's secrets, opened from its sealed keys.json with the domain key. */
export async function boxSecretsOf(
  dir: string,
  shares: readonly string[],
  box: BoxName,
): Promise<Record<string, Buffer>> {
  const domainKey = await domainKeyOf(dir, shares);
  const fileKey = boxFileKey(domainKey, box);
  const body = readKeyFile(join(dir, 'boxes', box), box, fileKey);
  return Object.fromEntries(
    Object.entries(body.keys).map(([name, value]) => [name, Buffer.from(value, 'base64')]),
  );
}
