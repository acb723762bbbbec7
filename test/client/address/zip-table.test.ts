// The generated ZIP table (client/address/zip-table.ts) against the `zipcodes` package it comes
// from: every US 5-digit ZIP found with the package's city, state and coordinates, nothing more,
// and ZIPs the package lacks not found.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import type * as Zipcodes from 'zipcodes';
import { zipDb } from '../../../client/address/zip-db';
import { ZIP_TABLE_SOURCE } from '../../../client/address/zip-table';

const require = createRequire(import.meta.url);
const { codes } = require('zipcodes') as typeof Zipcodes;
const { version } = require('zipcodes/package.json') as { version: string };

describe('the ZIP table', () => {
  it('is generated from the installed zipcodes package (run node scripts/zip-table.mjs after updating it)', () => {
    expect(ZIP_TABLE_SOURCE).toBe(`zipcodes ${version}`);
  });

  it('finds every US ZIP of the package with its city, state and coordinates', async () => {
    const db = await zipDb();
    const us = Object.values(codes).filter((r) => r.country === 'US' && /^\d{5}$/.test(r.zip));
    expect(us.length).toBeGreaterThan(40_000);
    for (const r of us) expect(db.lookup(r.zip)).toEqual(r);
    expect(db.lookup('62701-1234')?.city).toBe('Springfield');
  });

  it('finds no ZIP the package lacks, and keeps city lists and areas in ascending order', async () => {
    const db = await zipDb();
    for (const zip of ['00000', '00001', '99999', 'ABCDE', '']) {
      expect(db.lookup(zip)).toBe(codes[zip]?.country === 'US' ? codes[zip] : undefined);
    }
    const chicago = db.zipsOf('Chicago', 'il');
    expect(chicago.length).toBeGreaterThan(40);
    expect(chicago).toEqual([...chicago].sort());
    expect(chicago.every((zip) => codes[zip]?.city === 'Chicago')).toBe(true);
    expect(db.area('606')?.states).toEqual(new Set(['IL']));
    expect(db.area('000')).toBeUndefined();
  });
});
