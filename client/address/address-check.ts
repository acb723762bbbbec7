/**
 * @module address/address-check
 * The offline address check: the address in USPS style (shared/address-style.ts), then ZIP ↔
 * state ↔ city consistency against the ZIP database (./zip-db.ts). A disagreement is a problem
 * with a suggestion (the ZIP's own city and state; or the typed city's ZIPs), and the mailer may
 * override it explicitly (`--accept-address`, the app's checkbox); the override is remembered on
 * the piece. The database (the `zipcodes` package) knows one (preferred) city name per ZIP and no
 * other name USPS accepts for it, so a valid alternate name ("Hollywood" for a Los Angeles ZIP,
 * "Riverdale" for a Bronx one) is refused too, with a hint that says so: the override is the way
 * through. The check does not guess which other names are acceptable (a city near the ZIP is not
 * thereby a name USPS delivers under).
 */
import { cityKey, uspsAddress, type AddressFields } from '../../shared/address-style';
import { MILITARY } from '../../shared/us-states';
import { zipDb } from './zip-db';

export interface AddressCheck {
  /** True when the address agrees with the ZIP database. */
  ok: boolean;
  /** The address in USPS style (what prints). */
  normalized: AddressFields;
  /** What disagrees, for the mailer ("ZIP 62701 is SPRINGFIELD, IL, not CHICAGO, IL"). */
  problems: string[];
  /** The corrected address (the ZIP's city and state), when there is one. */
  suggestion?: AddressFields;
  /** Other ways to fix it ("CHICAGO, IL has ZIPs 60601 …"). */
  hints: string[];
}

/** What the mailer confirmed about an address the check refused; kept with the piece. */
export interface AddressOverride {
  accepted: true;
  problems: string[];
  at: string;
}

const show = (a: { city: string; state: string }) => `${a.city}, ${a.state}`;

/** City keys computed once per spelling (a batch repeats its cities; bounded all the same). */
const cityKeys = new Map<string, string>();
function cityKeyOf(city: string): string {
  let key = cityKeys.get(city);
  if (key === undefined) {
    if (cityKeys.size >= 10_000) cityKeys.clear();
    key = cityKey(city);
    cityKeys.set(city, key);
  }
  return key;
}

/** Checks one address against the ZIP database; never throws for a bad address. */
export async function checkAddress(address: AddressFields): Promise<AddressCheck> {
  const normalized = uspsAddress(address);
  const problems: string[] = [];
  const hints: string[] = [];
  const zip5 = normalized.zip.slice(0, 5);
  if (MILITARY.has(normalized.state)) return { ok: true, normalized, problems, hints };
  const db = await zipDb();
  const record = /^\d{5}$/.test(zip5) ? db.lookup(zip5) : undefined;
  // Only a refused address needs the city's ZIPs: the city index (the whole table, some 100 ms
  // to build) is not built for a list whose addresses all agree.
  const cityZipsOf = () => db.zipsOf(normalized.city, normalized.state);
  const listZips = (zips: string[]) =>
    `${zips.slice(0, 5).join(', ')}${zips.length > 5 ? ` and ${zips.length - 5} more` : ''}`;
  if (!record) {
    problems.push(`ZIP ${normalized.zip}: not a US ZIP code in the ZIP database`);
    const cityZips = cityZipsOf();
    if (cityZips.length > 0) hints.push(`${show(normalized)} has ZIP ${listZips(cityZips)}`);
    return { ok: false, normalized, problems, hints };
  }
  const zipPlace = { city: record.city.toUpperCase(), state: record.state };
  const stateOk = zipPlace.state === normalized.state;
  const cityOk = cityKeyOf(zipPlace.city) === cityKeyOf(normalized.city);
  if (stateOk && cityOk) return { ok: true, normalized, problems, hints };
  problems.push(`ZIP ${zip5} is ${show(zipPlace)}, not ${show(normalized)}`);
  const suggestion: AddressFields = { ...normalized, city: zipPlace.city, state: zipPlace.state };
  const cityZips = cityZipsOf();
  if (cityZips.length > 0)
    hints.push(`or keep ${show(normalized)} with its ZIP ${listZips(cityZips)}`);
  if (stateOk)
    hints.push(
      `if ${normalized.city} is another name USPS accepts for ZIP ${zip5} (the offline ZIP database lists only ${zipPlace.city}), keep it as written`,
    );
  return { ok: false, normalized, problems, suggestion, hints };
}

/** One line for the mailer: the problem, the suggestion and how to override. */
export function describeCheck(check: AddressCheck, override = '--accept-address'): string {
  const parts = [check.problems.join('; ')];
  if (check.suggestion)
    parts.push(
      `did you mean "${[check.suggestion.street, check.suggestion.city, `${check.suggestion.state} ${check.suggestion.zip}`].join(', ')}"?`,
    );
  parts.push(...check.hints);
  parts.push(`correct the address, or confirm it as written with ${override}`);
  return parts.join('; ');
}

/** The error a refused address gives: a stable code, the check and what to do. */
export class AddressCheckError extends Error {
  readonly code = 'ADDRESS_MISMATCH';
  constructor(
    readonly check: AddressCheck,
    who = 'recipient',
    override = '--accept-address',
  ) {
    super(`${who} address: ${describeCheck(check, override)}; nothing was charged`);
    this.name = 'AddressCheckError';
  }
}
