/** The offline address check against the ZIP database (zipcodes). */
import { describe, expect, it } from 'vitest';
import { checkAddress, describeCheck } from '../../../client/address/address-check';
import { checkBatch } from '../../../client/services/batch-check';
import { parseBatchCsv } from '../../../client/services/batch-csv';
import { SHIPPED_RATE_TABLE } from '../../../shared/rates/shipped-table';

const ann = {
  name: 'Ann Lee',
  street: '1 Main Street',
  city: 'Springfield',
  state: 'IL',
  zip: '62701',
};

describe('checkAddress()', () => {
  it('passes an address that agrees with its ZIP, normalized to USPS style', async () => {
    const c = await checkAddress(ann);
    expect(c.ok).toBe(true);
    expect(c.normalized).toMatchObject({ street: '1 MAIN ST', city: 'SPRINGFIELD', state: 'IL' });
  });
  it('refuses a wrong city for its ZIP and suggests the ZIP’s city, and the city’s own ZIPs', async () => {
    const c = await checkAddress({ ...ann, city: 'Chicago' });
    expect(c.ok).toBe(false);
    expect(c.problems).toEqual(['ZIP 62701 is SPRINGFIELD, IL, not CHICAGO, IL']);
    expect(c.suggestion).toMatchObject({ city: 'SPRINGFIELD', state: 'IL', zip: '62701' });
    expect(c.hints.join()).toMatch(/CHICAGO, IL with its ZIP 60\d{3}, 60601/);
    expect(describeCheck(c)).toMatch(/--accept-address/);
  });
  it('refuses a state that is not the ZIP’s', async () => {
    const c = await checkAddress({ ...ann, state: 'MO' });
    expect(c.ok).toBe(false);
    expect(c.suggestion?.state).toBe('IL');
  });
  it('refuses a ZIP the database does not know', async () => {
    const c = await checkAddress({ ...ann, zip: '00000' });
    expect(c.ok).toBe(false);
    expect(c.problems[0]).toMatch(/not a US ZIP code/);
    expect(c.hints[0]).toMatch(/SPRINGFIELD, IL has ZIP 62701/);
  });
  it('accepts St for Saint and keeps a ZIP+4', async () => {
    const c = await checkAddress({ ...ann, city: 'St. Louis', state: 'MO', zip: '63101-0001' });
    expect(c.ok).toBe(true);
    expect(c.normalized.zip).toBe('63101-0001');
  });
  it('refuses a valid alternate city name the ZIP database does not list, saying so and how to keep it', async () => {
    // USPS delivers 90028 as HOLLYWOOD too; the zipcodes package lists LOS ANGELES only.
    const c = await checkAddress({ ...ann, city: 'Hollywood', state: 'CA', zip: '90028' });
    expect(c.ok).toBe(false);
    expect(c.problems).toEqual(['ZIP 90028 is LOS ANGELES, CA, not HOLLYWOOD, CA']);
    expect(c.suggestion).toMatchObject({ city: 'LOS ANGELES', state: 'CA', zip: '90028' });
    expect(c.hints.join()).toMatch(
      /if HOLLYWOOD is another name USPS accepts for ZIP 90028 \(the offline ZIP database lists only LOS ANGELES\), keep it as written/,
    );
    expect(describeCheck(c)).toMatch(/confirm it as written with --accept-address$/);
    // A wrong state is not an alternate name: no such hint.
    const wrongState = await checkAddress({ ...ann, state: 'MO' });
    expect(wrongState.hints.join()).not.toMatch(/another name USPS accepts/);
  });
});

describe('a batch row with an alternate city name', () => {
  const csv = (accept: string) =>
    `name,street,city,state,zip,mail_class,postage,accept_address\nAnn Lee,1 Main St,Riverdale,NY,10463,first-class,0.78,${accept}\n`;
  it('is listed with the hint and charges nothing, and passes with accept_address, the override kept', async () => {
    const refused = await checkBatch(parseBatchCsv(csv('')), { table: SHIPPED_RATE_TABLE });
    expect(refused.pieces).toEqual([]);
    expect(refused.errors[0]?.message).toMatch(
      /ZIP 10463 is BRONX, NY, not RIVERDALE, NY.*another name USPS accepts.*accept_address = yes in the row, or --accept-address/,
    );
    const kept = await checkBatch(parseBatchCsv(csv('yes')), { table: SHIPPED_RATE_TABLE });
    expect(kept.errors).toEqual([]);
    expect(kept.pieces[0]?.recipient.city).toBe('RIVERDALE');
    expect(kept.pieces[0]?.addressOverride).toMatchObject({
      accepted: true,
      problems: ['ZIP 10463 is BRONX, NY, not RIVERDALE, NY'],
    });
  });
});
