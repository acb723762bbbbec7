/**
 * @module errors
 * Every error code the product can show, from the secure boxes to the screen, in one closed
 * table: the data center's HTTP answers (shared/api/errors.ts adds their status), the boxes'
 * and the key custody's codes, the client's, the print driver's and the verifier's. Each has
 * advice: what the person in front of it does next, worded for the desktop app and the `vpm`
 * command line alike (no menu names, no command names). The app and the CLI show it after the
 * error's own message (withAdvice).
 */

type Origin = 'datacenter' | 'box' | 'custody' | 'client' | 'app' | 'print' | 'verify';
interface CodeInfo {
  readonly from: Origin;
  readonly advice: string;
}

const SUPPORT = 'If it keeps happening, contact support.';

export const ERROR_CODES = {
  // The data center's HTTP API (status in shared/api/errors.ts).
  BAD_REQUEST: { from: 'datacenter', advice: 'Check the values you entered and try again.' },
  BAD_MAILING_DATE: {
    from: 'datacenter',
    advice: 'Choose today or a later mailing date within the window the message names.',
  },
  BODY_TOO_LARGE: { from: 'datacenter', advice: 'Send fewer pieces at a time (at most 500).' },
  NOT_FOUND: { from: 'datacenter', advice: 'Check the data center address in your settings.' },
  UNAUTHENTICATED: { from: 'datacenter', advice: 'Sign in again.' },
  SESSION_EXPIRED: { from: 'datacenter', advice: 'Your session ended; sign in again.' },
  BAD_CREDENTIALS: { from: 'datacenter', advice: 'Check your user name and password.' },
  HEADERS_TOO_LARGE: { from: 'datacenter', advice: 'Send smaller request headers.' },
  RATE_LIMITED: {
    from: 'datacenter',
    advice:
      'Too many requests or failed sign-ons; wait as long as the message says, then try again.',
  },
  USERNAME_TAKEN: { from: 'datacenter', advice: 'Choose another user name.' },
  INSUFFICIENT_FUNDS: { from: 'datacenter', advice: 'Refill your meter, then try again.' },
  BALANCE_LIMIT: {
    from: 'datacenter',
    advice: 'A meter holds at most $1,000,000.00; refill a smaller amount.',
  },
  CARD_DECLINED: { from: 'datacenter', advice: 'Use another card or call your bank.' },
  IDEMPOTENCY_CONFLICT: {
    from: 'datacenter',
    advice: 'This request key was used for a different request; use a new key.',
  },
  PIECE_NOT_FOUND: {
    from: 'datacenter',
    advice: 'Check the mail piece id; your history lists them.',
  },
  REFUND_NOT_ALLOWED: {
    from: 'datacenter',
    advice: 'Only unused pieces within 30 days can be refunded, once.',
  },
  METER_SUSPENDED: {
    from: 'datacenter',
    advice: 'Your meter is suspended after a security check; contact support.',
  },
  METER_INTEGRITY: {
    from: 'datacenter',
    advice: 'The meter record failed a security check and was not used; support has been alerted.',
  },
  FORBIDDEN: { from: 'datacenter', advice: 'Only an administrator can do this.' },
  SERVICE_UNAVAILABLE: {
    from: 'datacenter',
    advice: 'The data center is busy or restarting; try again in a minute.',
  },
  INTERNAL: { from: 'datacenter', advice: `Try again. ${SUPPORT}` },

  // The secure boxes (server-mock/boxes/api.ts BOX_ERROR_CODES): the data center's operator sees
  // these; a mailer sees the HTTP code the data center maps them to.
  METER_RECORD_BAD_MAC: {
    from: 'box',
    advice: 'The meter record was altered; it is not used. Check the fraud alerts.',
  },
  FRESHNESS_MISMATCH: {
    from: 'box',
    advice: 'The meter record is stale or replayed; it is not used. Check the fraud alerts.',
  },
  UNKNOWN_METER: {
    from: 'box',
    advice: 'The meter box does not know this meter; check the meter serial.',
  },
  TAMPERED: {
    from: 'box',
    advice:
      "The box detected tampering and erased its keys; restore it from the custodians' shares.",
  },
  SELF_TEST_FAILED: { from: 'box', advice: `Restart the data center. ${SUPPORT}` },
  AUTH_FAILED: { from: 'box', advice: 'Sign in again.' },
  BAD_SIGNATURE: {
    from: 'box',
    advice: 'The record was altered; it is not used. Check the fraud alerts.',
  },
  BOX_UNAVAILABLE: {
    from: 'box',
    advice: 'Restart the data center; its secure boxes are not running.',
  },
  GRANT_INVALID: { from: 'box', advice: 'Sign in again.' },
  GRANT_EXPIRED: { from: 'box', advice: 'Sign in again.' },
  GRANT_MISMATCH: {
    from: 'box',
    advice: 'The meter was suspended after a security check; contact support.',
  },
  RECORD_MAC_EXPIRED: { from: 'box', advice: 'Try again; the record is sealed again first.' },
  WRONG_SHARD: {
    from: 'box',
    advice: 'Try again; the data center sends the request to the shard that serves this meter.',
  },
  INTERNAL_ERROR: { from: 'box', advice: `Try again; details are in the box log. ${SUPPORT}` },
  WITNESS_UNAVAILABLE: {
    from: 'box',
    advice: 'The postal authority has not confirmed recent reports; try again in a minute.',
  },
  WITNESS_ROLLBACK: {
    from: 'box',
    advice:
      'The postal authority holds later reports than this data center: it was restored from an old copy. Contact support.',
  },
  WITNESS_MISMATCH: {
    from: 'box',
    advice:
      'The postal authority is not the one this data center is pinned to; check its address and CA.',
  },

  // The data center's storage (an operator sees it in the log; a mailer gets INTERNAL).
  STORAGE_UNAVAILABLE: {
    from: 'datacenter',
    advice: 'The database is not reachable; try again in a minute.',
  },
  UNIQUE_VIOLATION: { from: 'datacenter', advice: 'Try again; the record changed meanwhile.' },
  STORAGE_CONFLICT: { from: 'datacenter', advice: 'Try again; the record changed meanwhile.' },

  // The boxes' key custody (server-mock/boxes/custody.ts).
  SHARES_INSUFFICIENT: {
    from: 'custody',
    advice: 'Give at least the quorum of custodian shares, each from a different custodian.',
  },
  SHARES_WRONG_KEY: {
    from: 'custody',
    advice: "Give the shares of this data center's custodians (these open another key).",
  },
  CUSTODY_MISSING: {
    from: 'custody',
    advice: 'The data directory has no key custody; initialise the data center first.',
  },
  CUSTODY_BAD_PARAMETERS: {
    from: 'custody',
    advice: 'Choose 2 to 255 custodians and a quorum from 2 to their number.',
  },

  // The client (client/services, client/cli) and its checks before anything is charged.
  UNREACHABLE: {
    from: 'client',
    advice: 'Check your network connection and the data center address, then try again.',
  },
  UNTRUSTED_SERVER: {
    from: 'client',
    advice:
      "The server's certificate is not from the data center's CA; check the address and the CA file.",
  },
  BAD_SERVER_URL: { from: 'client', advice: 'Enter the data center address as https://host:port.' },
  NOT_SIGNED_IN: { from: 'client', advice: 'Sign in first.' },
  BAD_AMOUNT: { from: 'client', advice: 'Enter dollars and cents, like 12.34.' },
  BAD_ZIP: { from: 'client', advice: 'Enter a 5-digit ZIP (12345) or ZIP+4 (12345-6789).' },
  BAD_ADDRESS: {
    from: 'client',
    advice: 'Correct the address: name, street, city, state and ZIP, in characters a label prints.',
  },
  NO_RATE: { from: 'client', advice: 'Check the weight and mail class, or enter the postage.' },
  BATCH_INVALID: {
    from: 'client',
    advice: 'Correct the listed lines of the file; nothing was charged.',
  },
  BATCH_ALREADY_PRINTED: {
    from: 'client',
    advice: 'This list was printed before; confirm "print again" to buy every piece again.',
  },
  BATCH_INTERRUPTED: {
    from: 'client',
    advice: 'Run the same list again to resume; finished pieces are not charged twice.',
  },
  BATCH_NOTHING_TO_RESUME: {
    from: 'client',
    advice: 'Run the list as a new batch.',
  },
  PIECE_REFUNDED: {
    from: 'client',
    advice: 'This piece was refunded: it is not postage any more.',
  },
  NOT_REFUNDABLE: {
    from: 'client',
    advice: 'Only unused pieces within 30 days can be refunded, once.',
  },
  PRINTER_FAILED: {
    from: 'client',
    advice: 'Check the printer, then reprint the piece from your history (not charged again).',
  },
  POSTAL_UNREACHABLE: {
    from: 'client',
    advice: "Check the postal authority's address and your network, then try again.",
  },
  DEMO_UNAVAILABLE: {
    from: 'client',
    advice: "Turn demo mode off and enter your data center's address.",
  },
  BAD_TRACKING: {
    from: 'client',
    advice: 'Enter the tracking number as printed on the label (digits, check digit last).',
  },
  INDICIUM_MALFORMED: {
    from: 'client',
    advice: 'The indicium is not a valid one; scan the piece again.',
  },

  // Rates, zones and weights (shared/rates, client/rates).
  BAD_WEIGHT: { from: 'client', advice: 'Enter the weight in ounces, like 3.5.' },
  BAD_SIZE: { from: 'client', advice: 'Enter the length, width and height in inches.' },
  TOO_HEAVY: { from: 'client', advice: 'Choose a mail class that takes this weight.' },
  TOO_LARGE: { from: 'client', advice: 'Choose a mail class that takes this size.' },
  NOT_PRICED: { from: 'client', advice: 'Choose another mail class, or enter the postage.' },
  NO_ZONE: { from: 'client', advice: 'Check the origin and destination ZIPs.' },
  NO_PACKAGING: { from: 'client', advice: 'Choose one of the listed packagings.' },
  BAD_RATE_SIGNATURE: {
    from: 'client',
    advice:
      'The rate table is not signed by your data center; prices stay from the last good table. Tell your vendor.',
  },
  BAD_PIECE: { from: 'client', advice: 'Describe the piece as the help shows, then try again.' },
  BAD_RATE_CACHE: { from: 'client', advice: 'Fetch the rate table again.' },
  BAD_RATE_TABLE: { from: 'client', advice: 'Fetch the rate table again, or check the rate file.' },
  BAD_ZONE_CHART: { from: 'client', advice: 'Fetch the zone chart again, or check the file.' },
  // The address book and the address check (client/address).
  BAD_HANDLE: { from: 'client', advice: 'Use letters, digits, dots, dashes or underscores.' },
  HANDLE_TAKEN: { from: 'client', advice: 'Choose another name for this address.' },
  NO_SUCH_ENTRY: { from: 'client', advice: 'Check the name; the address book lists them.' },
  BAD_IMPORT: {
    from: 'client',
    advice: 'Correct the listed lines of the file and import it again.',
  },
  ADDRESS_MISMATCH: {
    from: 'client',
    advice: 'Correct the city, state or ZIP so that they agree, then try again.',
  },
  // A postal scale (client/services/scale.ts).
  SCALE_NONE: { from: 'client', advice: 'Connect the scale, or enter the weight.' },
  SCALE_UNAVAILABLE: {
    from: 'client',
    advice: 'Check the scale is on and connected, or enter the weight.',
  },
  SCALE_UNSTABLE: {
    from: 'client',
    advice: 'Let the piece rest on the scale, then weigh it again.',
  },
  SCALE_BAD_READING: { from: 'client', advice: 'Weigh the piece again, or enter the weight.' },

  // The desktop app's own layer (shared/ipc/results.ts, electron/).
  UNKNOWN_CHANNEL: { from: 'app', advice: 'Restart the app.' },
  BAD_SETTINGS: { from: 'app', advice: 'Correct the settings and save them again.' },

  // The print driver (client/print/errors.ts).
  PRINT_UNKNOWN_MEDIUM: { from: 'print', advice: 'Choose one of the listed media.' },
  PRINT_BAD_CALIBRATION: {
    from: 'print',
    advice: 'Enter calibration offsets between -20 and 20 millimetres.',
  },
  PRINT_BAD_INDICIUM: { from: 'print', advice: `Reprint the piece from your history. ${SUPPORT}` },
  PRINT_ZIP_MISMATCH: {
    from: 'print',
    advice: 'Print the piece to the recipient whose ZIP it was bought for.',
  },
  PRINT_BAD_ADDRESS: { from: 'print', advice: 'Complete the recipient and return addresses.' },
  PRINT_BAD_TRACKING: {
    from: 'print',
    advice: `Reprint the piece from your history; its tracking number is checked again. ${SUPPORT}`,
  },
  PRINT_BAD_DPI: { from: 'print', advice: 'Choose 203 or 300 dpi, as the thermal printer prints.' },
  PRINT_FORMAT_MEDIUM: { from: 'print', advice: 'Choose the 4 × 6 label for ZPL, or print a PDF.' },
  PRINT_NO_PIECES: { from: 'print', advice: 'Add at least one piece.' },
  PRINT_SYSTEM_MISSING: {
    from: 'print',
    advice: 'Install the CUPS client (cups-client), or save the piece as a PDF.',
  },
  PRINT_PRINTER_NOT_FOUND: { from: 'print', advice: "Choose one of this computer's printers." },
  PRINT_JOB_REFUSED: {
    from: 'print',
    advice: 'Check that the printer is on and accepting jobs, then reprint (not charged again).',
  },
  PRINT_JOB_NOT_FOUND: { from: 'print', advice: 'The print job is finished or was cancelled.' },
  PRINT_UNSUPPORTED: { from: 'print', advice: 'Save the piece as a PDF and print that.' },

  // The verifier (client/verify/errors.ts).
  VERIFY_FILE_MISSING: { from: 'verify', advice: 'Check the path of the scan.' },
  VERIFY_UNSUPPORTED_FILE: { from: 'verify', advice: 'Scan the piece to a PNG, JPEG or PDF.' },
  VERIFY_RASTERIZER_MISSING: {
    from: 'verify',
    advice: 'Install poppler-utils to read PDFs, or scan to PNG or JPEG.',
  },
  VERIFY_RASTERIZE_FAILED: { from: 'verify', advice: 'Scan the piece again, to PNG or JPEG.' },
  VERIFY_SCAN_TOO_LARGE: { from: 'verify', advice: 'Scan only the piece, at 300 dpi or less.' },
  VERIFY_BAD_BUNDLE: {
    from: 'verify',
    advice: 'Fetch the certificate bundle from the data center again.',
  },
} as const satisfies Record<string, CodeInfo>;

/** Every code the product can show: a closed union. */
export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

/** What to do next for this code, or undefined for a code outside the table. */
export function adviceFor(code: unknown): string | undefined {
  return isErrorCode(code) ? ERROR_CODES[code].advice : undefined;
}

/** The message followed by the code's advice, unless the message already ends with it. */
export function withAdvice(message: string, code: unknown): string {
  const advice = adviceFor(code);
  if (!advice || message.includes(advice)) return message;
  return `${message.replace(/[.\s]*$/, '')}. ${advice}`;
}
