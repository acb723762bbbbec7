/**
 * @module address-text
 * What an address on a piece may contain, checked before anything is charged: the app's forms,
 * the IPC services, `vpm print` and every batch row use this one check. The print driver draws
 * addresses in the PDF standard font Helvetica (WinAnsi encoding, upper case), so a character
 * outside that set would print as a blank or a wrong glyph on a piece the mailer already paid
 * for; it is refused with a message instead. Control characters and the invisible bidirectional
 * controls (U+202A–U+202E, U+2066–U+2069, U+200E/U+200F, U+061C) are refused as well: they can
 * make an address read one way on screen and print another.
 */

/** The characters beyond Latin-1 that WinAnsi (Windows-1252) has, as the font draws them. */
const WIN_ANSI_EXTRA = new Set('€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ');

const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/u;
/** C0 and C1 controls, DEL, line and paragraph separators, zero-width and BOM characters. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const OTHER_CONTROLS = /[\u0000-\u001F\u007F-\u009F\u2028\u2029\u200B-\u200D\u2060\uFEFF]/u;

const codePoint = (ch: string): string =>
  `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;

/** True when the label font can draw this character. */
export function isPrintableChar(ch: string): boolean {
  const code = ch.codePointAt(0) ?? 0;
  return (code >= 0x20 && code <= 0x7e) || (code >= 0xa0 && code <= 0xff) || WIN_ANSI_EXTRA.has(ch);
}

/**
 * Null when `value` can be printed as an address line, else a message for the mailer that
 * names the character and says what to do. `what` names the field ("recipient street").
 */
export function addressTextProblem(value: string, what: string): string | null {
  const bidi = BIDI_CONTROLS.exec(value);
  if (bidi)
    return `${what}: contains an invisible text-direction control (${codePoint(bidi[0])}) that can make the address read differently from what prints; retype it without copying from elsewhere`;
  const control = OTHER_CONTROLS.exec(value);
  if (control)
    return `${what}: contains a control or invisible character (${codePoint(control[0])}); retype it without copying from elsewhere`;
  // Addresses print in capitals: the capital must be printable too (µ becomes Greek Μ).
  for (const ch of value) {
    if (!isPrintableChar(ch) || ![...ch.toUpperCase()].every(isPrintableChar))
      return `${what}: "${ch}" (${codePoint(ch)}) cannot be printed with the label font, which has Latin letters only; write it in Latin letters (e.g. without the accent or in transliteration)`;
  }
  return null;
}

/** The address fields the check covers, with the names used in messages. */
const FIELDS = [
  ['name', 'name'],
  ['company', 'company'],
  ['street', 'street'],
  ['street2', 'second street line'],
  ['city', 'city'],
  ['state', 'state'],
  ['zip', 'ZIP'],
] as const;

type AddressLike = Partial<Record<(typeof FIELDS)[number][0], string>>;

/** Every problem of an address's fields, each with its field name; empty when it prints. */
export function addressProblems(
  address: AddressLike,
  who = 'recipient',
): Array<{ field: string; message: string }> {
  const problems: Array<{ field: string; message: string }> = [];
  for (const [field, label] of FIELDS) {
    const value = address[field];
    if (value === undefined) continue;
    const problem = addressTextProblem(value, `${who} ${label}`);
    if (problem) problems.push({ field, message: problem });
  }
  return problems;
}
