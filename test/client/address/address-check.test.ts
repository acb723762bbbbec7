/** The offline address check against the ZIP database (zipcodes). */
import { describe, expect, it } from 'vitest';
import { checkAddress, describeCheck } from '../../../client/address/address-check';

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
});
