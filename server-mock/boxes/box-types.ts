/**
 * @module boxes/box-types
 * The box types by name (the folder name under DIR/boxes/): patent parts 38 (steel), 40 (auth),
 * 42 (txn) and 44 (meter).
 */
import { authBox } from './auth-box';
import type { BoxType } from './box-program';
import { meterBox } from './meter-box';
import { steelBox } from './steel-box';
import { txnBox } from './txn-box';

export const BOX_NAMES = ['meter', 'steel', 'auth', 'txn'] as const;
export type BoxName = (typeof BOX_NAMES)[number];

export const BOX_TYPES: Record<BoxName, BoxType> = {
  meter: meterBox,
  steel: steelBox,
  auth: authBox,
  txn: txnBox,
};

export function isBoxName(name: string): name is BoxName {
  return (BOX_NAMES as readonly string[]).includes(name);
}
