/**
 * @module services/batch-csv
 * A batch's address list: CSV with a header row, columns
 * `name,street,city,state,zip[,postage][,class][,weight]` (also `street2`, `mail_class`,
 * `weight_oz`, and `accept_address` = yes to keep an address the ZIP check disagrees with).
 * The whole file is checked before anything is charged; every bad row is reported by its line
 * number, including addresses the label font cannot print (shared/address-text.ts). The checks
 * that need the ZIP database (address consistency, zones) follow in ./batch-check.ts.
 */
import { parse } from 'csv-parse/sync';
import { addressProblems } from '../../shared/address-text';
import type { Address } from '../print/index';
import { MAX_WEIGHT_OZ, MIN_WEIGHT_OZ } from '../../shared/atoms';
import { isMailClass, type MailClass } from '../../shared/mail-class';
import { MoneyError, parseDollars } from '../../shared/money';
import { ZIP_DEST_PATTERN } from '../../shared/zip';
import type { RateTable } from '../../shared/rates/rate-table';
import { RateError } from '../../shared/rates/price';
import { SHIPPED_RATE_TABLE } from '../../shared/rates/shipped-table';
import { quote } from './rates';

export interface BatchPiece {
  /** Line in the file (the header is line 1). */
  line: number;
  recipient: Address;
  mailClass: MailClass;
  postageCents: number;
  weightOz?: number;
  /** The mailer confirmed the address as written (`accept_address` column). */
  acceptAddress?: boolean;
  /** Priced by zone: the postage is quoted once the zone is known (./batch-check.ts). */
  needsQuote?: boolean;
}

export interface BatchParse {
  pieces: BatchPiece[];
  errors: { line: number; message: string }[];
  totalCents: number;
}

const ALIASES: Record<string, string> = {
  class: 'mail_class',
  weight: 'weight_oz',
  mailclass: 'mail_class',
  weightoz: 'weight_oz',
  acceptaddress: 'accept_address',
};
const YES = /^(yes|y|true|1|x)$/i;

export interface BatchParseOptions {
  /** Only the address columns (the address book's import): no class, weight or postage checks. */
  addressesOnly?: boolean;
  /** The table unzoned postage is quoted from (default: the shipped table). */
  table?: RateTable;
}
const REQUIRED = ['name', 'street', 'city', 'state', 'zip'];
const ZIP = new RegExp(ZIP_DEST_PATTERN);

export function parseBatchCsv(text: string, options: BatchParseOptions = {}): BatchParse {
  let records: string[][];
  try {
    records = parse(text, {
      relax_column_count: true,
      skip_empty_lines: true,
      trim: true,
      bom: true,
    }) as string[][];
  } catch (error) {
    return {
      pieces: [],
      errors: [
        {
          line: Number((error as { lines?: number }).lines ?? 1),
          message: `not a CSV file: ${(error as Error).message}`,
        },
      ],
      totalCents: 0,
    };
  }
  const [header, ...rows] = records;
  if (!header)
    return {
      pieces: [],
      errors: [
        {
          line: 1,
          message:
            'the file is empty; the first line must be the header name,street,city,state,zip',
        },
      ],
      totalCents: 0,
    };
  const columns = header.map((h) => {
    const key = h.toLowerCase().replace(/[^a-z0-9_]/g, '');
    return ALIASES[key] ?? key;
  });
  const missing = REQUIRED.filter((c) => !columns.includes(c));
  if (missing.length > 0)
    return {
      pieces: [],
      errors: [{ line: 1, message: `header: missing column(s) ${missing.join(', ')}` }],
      totalCents: 0,
    };
  if (rows.length === 0)
    return {
      pieces: [],
      errors: [{ line: 2, message: 'no addresses after the header' }],
      totalCents: 0,
    };

  const pieces: BatchPiece[] = [];
  const errors: { line: number; message: string }[] = [];
  rows.forEach((row, i) => {
    const line = i + 2;
    const get = (name: string) => row[columns.indexOf(name)]?.trim() ?? '';
    const problems: string[] = [];
    for (const c of REQUIRED) if (!get(c)) problems.push(`${c} is empty`);
    // What the label font cannot print, and control characters, before anything is charged.
    const text = { name: get('name'), street: get('street'), city: get('city') };
    for (const p of addressProblems({ ...text, street2: get('street2') })) problems.push(p.message);
    const state = get('state').toUpperCase();
    if (state && !/^[A-Z]{2}$/.test(state))
      problems.push(`state "${get('state')}" is not a two-letter code`);
    const zip = get('zip');
    if (zip && !ZIP.test(zip)) problems.push(`ZIP "${zip}" is not 5 digits or ZIP+4`);
    const acceptAddress = YES.test(get('accept_address'));
    if (options.addressesOnly) {
      if (problems.length > 0) errors.push({ line, message: problems.join('; ') });
      else
        pieces.push({
          line,
          recipient: {
            name: get('name'),
            street: get('street'),
            ...(get('street2') ? { street2: get('street2') } : {}),
            city: get('city'),
            state,
            zip,
          },
          mailClass: 'first-class',
          postageCents: 0,
        });
      return;
    }
    const classText = get('mail_class') || 'first-class';
    const mailClass = isMailClass(classText) ? classText : undefined;
    if (!mailClass) problems.push(`class "${classText}" is unknown`);
    let weightOz: number | undefined;
    if (get('weight_oz')) {
      weightOz = Number(get('weight_oz'));
      if (!(weightOz >= MIN_WEIGHT_OZ && weightOz <= MAX_WEIGHT_OZ))
        problems.push(`weight "${get('weight_oz')}" is not a number of ounces`);
    }
    let postageCents = 0;
    let needsQuote = false;
    if (get('postage')) {
      try {
        postageCents = parseDollars(get('postage'));
        if (postageCents === 0) problems.push('postage must be more than $0.00');
      } catch (error) {
        problems.push(
          error instanceof MoneyError
            ? `postage "${get('postage')}" is not an amount like 0.78`
            : String(error),
        );
      }
    } else if (mailClass && problems.length === 0) {
      const table = options.table ?? SHIPPED_RATE_TABLE;
      if (table.services.find((x) => x.mailClass === mailClass)?.zoned) needsQuote = true;
      else
        try {
          postageCents = quote(mailClass, weightOz ?? 1, options.table);
        } catch (error) {
          problems.push(error instanceof RateError ? error.message : String(error));
        }
    }
    if (problems.length > 0) {
      errors.push({ line, message: problems.join('; ') });
      return;
    }
    const street2 = get('street2');
    pieces.push({
      line,
      recipient: {
        name: get('name'),
        street: get('street'),
        ...(street2 ? { street2 } : {}),
        city: get('city'),
        state,
        zip,
      },
      mailClass: mailClass as MailClass,
      postageCents,
      ...(weightOz === undefined ? {} : { weightOz }),
      ...(acceptAddress ? { acceptAddress } : {}),
      ...(needsQuote ? { needsQuote } : {}),
    });
  });
  return { pieces, errors, totalCents: pieces.reduce((sum, p) => sum + p.postageCents, 0) };
}
