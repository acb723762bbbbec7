/**
 * @module address-style
 * Addresses written the way USPS Publication 28 (Postal Addressing Standards) writes them: upper
 * case, no punctuation but the hyphen of a ZIP+4, single spaces, the standard abbreviations of
 * street suffixes (Appendix C1: STREET → ST, AVENUE → AVE …), of directionals (§ 233: NORTH → N)
 * and of secondary unit designators (Appendix C2: SUITE → STE, APARTMENT → APT), state names as
 * their two-letter codes, and the ZIP+4 kept (12345-6789). Pure: the ZIP database check that uses
 * it is client/services/address-check.ts.
 */
import { STATE_CODES, STATE_NAMES } from './us-states';

/** An address as the check sees it (the recipient and return address fields). */
export interface AddressFields {
  name: string;
  company?: string;
  street: string;
  street2?: string;
  city: string;
  state: string;
  zip: string;
}

/**
 * Street suffixes, Pub 28 Appendix C1: the primary name and the common variants it lists, each
 * mapped to the Postal Service standard abbreviation.
 */
const SUFFIXES: Record<string, string[]> = {
  ALY: ['ALLEY', 'ALLEE', 'ALLY'],
  AVE: ['AVENUE', 'AV', 'AVEN', 'AVENU', 'AVN', 'AVNUE'],
  BLVD: ['BOULEVARD', 'BOUL', 'BOULV'],
  BR: ['BRANCH', 'BRNCH'],
  BRG: ['BRIDGE', 'BRDGE'],
  BRK: ['BROOK'],
  BYP: ['BYPASS', 'BYPA', 'BYPAS', 'BYPS'],
  CSWY: ['CAUSEWAY', 'CAUSWA'],
  CTR: ['CENTER', 'CEN', 'CENT', 'CENTR', 'CENTRE', 'CNTER', 'CNTR'],
  CIR: ['CIRCLE', 'CIRC', 'CIRCL', 'CRCL', 'CRCLE'],
  CT: ['COURT'],
  CV: ['COVE'],
  CRK: ['CREEK'],
  CRES: ['CRESCENT', 'CRSENT', 'CRSNT'],
  XING: ['CROSSING', 'CRSSNG'],
  CYN: ['CANYON', 'CANYN', 'CNYN'],
  DR: ['DRIVE', 'DRIV', 'DRV'],
  EST: ['ESTATE'],
  ESTS: ['ESTATES'],
  EXPY: ['EXPRESSWAY', 'EXP', 'EXPR', 'EXPRESS', 'EXPW'],
  EXT: ['EXTENSION', 'EXTN', 'EXTNSN'],
  FLD: ['FIELD'],
  FLDS: ['FIELDS'],
  FRK: ['FORK'],
  FRST: ['FOREST', 'FORESTS'],
  FWY: ['FREEWAY', 'FREEWY', 'FRWAY', 'FRWY'],
  GDN: ['GARDEN', 'GARDN', 'GRDEN', 'GRDN'],
  GDNS: ['GARDENS', 'GRDNS'],
  GRV: ['GROVE', 'GROV'],
  HBR: ['HARBOR', 'HARB', 'HARBR', 'HRBOR'],
  HTS: ['HEIGHTS', 'HT'],
  HWY: ['HIGHWAY', 'HIGHWY', 'HIWAY', 'HIWY', 'HWAY'],
  HL: ['HILL'],
  HLS: ['HILLS'],
  HOLW: ['HOLLOW', 'HLLW', 'HOLLOWS', 'HOLWS'],
  IS: ['ISLAND', 'ISLND'],
  JCT: ['JUNCTION', 'JCTION', 'JCTN', 'JUNCTN', 'JUNCTON'],
  KNL: ['KNOLL', 'KNOL'],
  LK: ['LAKE'],
  LNDG: ['LANDING', 'LNDNG'],
  LN: ['LANE'],
  LOOP: ['LOOPS'],
  MNR: ['MANOR'],
  MDWS: ['MEADOWS', 'MDW', 'MEDOWS'],
  ML: ['MILL'],
  MT: ['MOUNT', 'MNT'],
  MTN: ['MOUNTAIN', 'MNTAIN', 'MNTN', 'MOUNTIN', 'MTIN'],
  ORCH: ['ORCHARD', 'ORCHRD'],
  PKWY: ['PARKWAY', 'PARKWY', 'PKWAY', 'PKY'],
  PL: ['PLACE'],
  PLN: ['PLAIN'],
  PLZ: ['PLAZA', 'PLZA'],
  PT: ['POINT'],
  PR: ['PRAIRIE', 'PRR'],
  RDG: ['RIDGE', 'RDGE'],
  RD: ['ROAD'],
  RTE: ['ROUTE'],
  SHR: ['SHORE', 'SHOAR'],
  SPG: ['SPRING', 'SPNG', 'SPRNG'],
  SPGS: ['SPRINGS', 'SPNGS', 'SPRNGS'],
  SQ: ['SQUARE', 'SQR', 'SQRE', 'SQU'],
  STA: ['STATION', 'STATN', 'STN'],
  ST: ['STREET', 'STRT', 'STR'],
  SMT: ['SUMMIT', 'SUMIT', 'SUMITT'],
  TER: ['TERRACE', 'TERR'],
  TRCE: ['TRACE', 'TRACES'],
  TRAK: ['TRACK', 'TRACKS', 'TRK', 'TRKS'],
  TRL: ['TRAIL', 'TRAILS', 'TRLS'],
  TUNL: ['TUNNEL', 'TUNEL', 'TUNLS', 'TUNNELS', 'TUNNL'],
  TPKE: ['TURNPIKE', 'TRNPK', 'TURNPK'],
  VLY: ['VALLEY', 'VALLY', 'VLLY'],
  VIA: ['VIADUCT', 'VDCT', 'VIADCT'],
  VW: ['VIEW'],
  VLG: ['VILLAGE', 'VILL', 'VILLAG', 'VILLG', 'VILLIAGE'],
  VIS: ['VISTA', 'VIST', 'VST', 'VSTA'],
  WAY: ['WY'],
};

const DIRECTIONALS: Record<string, string> = {
  NORTH: 'N',
  SOUTH: 'S',
  EAST: 'E',
  WEST: 'W',
  NORTHEAST: 'NE',
  NORTHWEST: 'NW',
  SOUTHEAST: 'SE',
  SOUTHWEST: 'SW',
};

/** Secondary unit designators, Pub 28 Appendix C2. */
const UNITS: Record<string, string> = {
  APARTMENT: 'APT',
  BUILDING: 'BLDG',
  DEPARTMENT: 'DEPT',
  FLOOR: 'FL',
  HANGAR: 'HNGR',
  LOT: 'LOT',
  OFFICE: 'OFC',
  ROOM: 'RM',
  SPACE: 'SPC',
  SUITE: 'STE',
  TRAILER: 'TRLR',
  UNIT: 'UNIT',
};

/** Every spelling (standard abbreviations included) → the standard abbreviation. */
const SUFFIX_OF = new Map<string, string>();
for (const [standard, variants] of Object.entries(SUFFIXES)) {
  SUFFIX_OF.set(standard, standard);
  for (const v of variants) SUFFIX_OF.set(v, standard);
}
const UNIT_ABBREVIATIONS = new Set(Object.values(UNITS));

/** Upper case, Pub 28 punctuation (none but the hyphen and the slash of a fraction), one space. */
export function uspsText(value: string): string {
  return value
    .toUpperCase()
    .replace(/[.,;:'"`!?()]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The standard suffix abbreviation of a word, if it is a street suffix. */
export function streetSuffix(word: string): string | undefined {
  return SUFFIX_OF.get(word.toUpperCase());
}

/**
 * A street line in USPS style: "123 north Main Street apt. 4" → "123 N MAIN ST APT 4". Only the
 * last suffix word before a post-directional or a unit designator is abbreviated, so "PARK
 * AVENUE" becomes "PARK AVE", not "PARK AVE" with the street name touched.
 */
export function uspsStreet(value: string): string {
  const words = uspsText(value).split(' ').filter(Boolean);
  if (words.length === 0) return '';
  // A unit designator and what follows it: APARTMENT 4 → APT 4, # 4 stays.
  let end = words.length;
  for (let i = 1; i < words.length; i++) {
    const w = words[i] as string;
    const unit = UNITS[w] ?? (UNIT_ABBREVIATIONS.has(w) && i < words.length - 1 ? w : undefined);
    if (unit || w.startsWith('#')) {
      if (unit) words[i] = unit;
      end = i;
      break;
    }
  }
  // A post-directional right before the end of the street part.
  let last = end - 1;
  const post = words[last] as string;
  if (last >= 2 && DIRECTIONALS[post] !== undefined && streetSuffix(words[last - 1] as string)) {
    words[last] = DIRECTIONALS[post] as string;
    last--;
  }
  // The suffix: the last word of the street name, when there is a name before it.
  const suffix = streetSuffix(words[last] as string);
  const firstName = /^\d/.test(words[0] as string) ? 1 : 0;
  if (suffix && last > firstName) words[last] = suffix;
  // A pre-directional right after the house number, when a name follows it.
  const pre = words[firstName] as string | undefined;
  if (pre && DIRECTIONALS[pre] !== undefined && firstName + 1 < last)
    words[firstName] = DIRECTIONALS[pre] as string;
  return words.join(' ');
}

/** A second address line in USPS style: unit designators abbreviated ("Suite 100" → "STE 100"). */
export function uspsSecondLine(value: string): string {
  return uspsText(value)
    .split(' ')
    .map((w) => UNITS[w] ?? w)
    .join(' ');
}

/** A state in USPS style: its two-letter code ("Illinois" → "IL"); unknown text upper-cased. */
export function uspsState(value: string): string {
  const text = uspsText(value);
  if (STATE_CODES.has(text)) return text;
  return STATE_NAMES[text] ?? text;
}

/** A ZIP in USPS style: 12345 or 12345-6789 (a ZIP+4 is kept); anything else as typed, trimmed. */
export function uspsZip(value: string): string {
  const digits = value.trim().replace(/[\s-]/g, '');
  if (/^\d{9}$/.test(digits)) return `${digits.slice(0, 5)}-${digits.slice(5)}`;
  if (/^\d{5}$/.test(digits)) return digits;
  return value.trim();
}

/** The whole address in USPS style. */
export function uspsAddress<A extends AddressFields>(address: A): A {
  return {
    ...address,
    name: uspsText(address.name),
    ...(address.company !== undefined ? { company: uspsText(address.company) } : {}),
    street: uspsStreet(address.street),
    ...(address.street2 !== undefined ? { street2: uspsSecondLine(address.street2) } : {}),
    city: uspsText(address.city),
    state: uspsState(address.state),
    zip: uspsZip(address.zip),
  };
}

/** City names compared as USPS matches them: SAINT = ST, FORT = FT, MOUNT = MT, no spaces. */
export function cityKey(city: string): string {
  return uspsText(city)
    .split(' ')
    .map((w) => ({ SAINT: 'ST', SAINTE: 'STE', FORT: 'FT', MOUNT: 'MT' })[w] ?? w)
    .join('')
    .replace(/-/g, '');
}
