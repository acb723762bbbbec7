/** USPS style (Publication 28): upper case, standard suffix, directional and unit abbreviations, ZIP+4 kept. */
import { describe, expect, it } from 'vitest';
import { cityKey, uspsAddress, uspsStreet, uspsZip } from '../../shared/address-style';

describe('uspsStreet()', () => {
  it.each([
    ['123 Main Street', '123 MAIN ST'],
    ['1 north Main street apartment 4', '1 N MAIN ST APT 4'],
    ['77 Park Avenue', '77 PARK AVE'],
    ['500 Sunset Boulevard West', '500 SUNSET BLVD W'],
    ['9 Elm Rd.', '9 ELM RD'],
    ['12 Oak Lane, Suite 300', '12 OAK LN STE 300'],
    ['4 Avenue Road', '4 AVENUE RD'],
    ['1600 Pennsylvania Ave NW', '1600 PENNSYLVANIA AVE NW'],
    ['10 Market St # 5', '10 MARKET ST # 5'],
  ])('%s → %s', (input, expected) => {
    expect(uspsStreet(input)).toBe(expected);
  });
});

describe('uspsAddress()', () => {
  it('upper-cases, abbreviates the state name and keeps the ZIP+4', () => {
    expect(
      uspsAddress({
        name: 'Ann Lee',
        street: '1 Park Avenue',
        street2: 'Suite 100',
        city: 'Springfield',
        state: 'Illinois',
        zip: '627011234',
      }),
    ).toEqual({
      name: 'ANN LEE',
      street: '1 PARK AVE',
      street2: 'STE 100',
      city: 'SPRINGFIELD',
      state: 'IL',
      zip: '62701-1234',
    });
  });
  it('leaves a ZIP it cannot read as typed, for the check to refuse', () => {
    expect(uspsZip(' 8020X ')).toBe('8020X');
  });
  it('matches city spellings USPS treats as one (Saint = St)', () => {
    expect(cityKey('Saint Louis')).toBe(cityKey('St. Louis'));
  });
});
