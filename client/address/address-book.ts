/**
 * @module address/address-book
 * Saved recipients, kept in the client's config directory (`address-book.json`, mode 0600):
 * each under a short handle (`--to @ann`), searchable by handle, name, company, street, city,
 * state or ZIP. Entries are checked like any address before they are saved (the label font,
 * control characters). Imports take the batch CSV format (client/services/batch-csv.ts), with an
 * optional `handle` column; a row without one is saved under a handle made from its name.
 */
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { addressProblems } from '../../shared/address-text';
import type { AddressFields } from '../../shared/address-style';
import { readJson, writePrivate } from '../services/config';
import { parseBatchCsv } from '../services/batch-csv';

export interface AddressBookEntry {
  handle: string;
  address: AddressFields;
  savedAt: string;
}

interface AddressBookFile {
  format: 'vpm-address-book-1';
  entries: AddressBookEntry[];
}

export class AddressBookError extends Error {
  constructor(
    readonly code: 'BAD_HANDLE' | 'NO_SUCH_ENTRY' | 'BAD_ADDRESS' | 'BAD_IMPORT' | 'HANDLE_TAKEN',
    message: string,
  ) {
    super(message);
    this.name = 'AddressBookError';
  }
}

export const HANDLE_PATTERN = /^[a-z0-9][a-z0-9._-]{0,39}$/;

/** A handle from a name: "Ann Lee" → "ann-lee". */
export function handleFor(name: string): string {
  const slug = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return slug || 'recipient';
}

function checkHandle(handle: string): string {
  const h = handle.replace(/^@/, '').toLowerCase();
  if (!HANDLE_PATTERN.test(h))
    throw new AddressBookError(
      'BAD_HANDLE',
      `address book: handle "${handle}" must be 1 to 40 of a-z 0-9 . _ - (starting with a letter or digit)`,
    );
  return h;
}

function checkEntryAddress(address: AddressFields): void {
  const problems = addressProblems(address);
  if (problems.length > 0)
    throw new AddressBookError('BAD_ADDRESS', problems.map((p) => p.message).join('; '));
  for (const field of ['name', 'street', 'city', 'state', 'zip'] as const)
    if (!address[field]?.trim())
      throw new AddressBookError('BAD_ADDRESS', `address book: the ${field} is empty`);
}

export class AddressBook {
  constructor(readonly home: string) {}

  private get file() {
    return join(this.home, 'address-book.json');
  }

  async list(): Promise<AddressBookEntry[]> {
    const data = await readJson<AddressBookFile>(this.file);
    return data?.entries ?? [];
  }

  private async write(entries: AddressBookEntry[]): Promise<void> {
    entries.sort((a, b) => a.handle.localeCompare(b.handle));
    const data: AddressBookFile = { format: 'vpm-address-book-1', entries };
    await writePrivate(this.file, `${JSON.stringify(data, null, 2)}\n`);
  }

  /** Entries whose handle or address contains every word of `query` (case-insensitive). */
  async search(query: string): Promise<AddressBookEntry[]> {
    const words = query.toLowerCase().split(/\s+/).filter(Boolean);
    return (await this.list()).filter((e) => {
      const text = [e.handle, ...Object.values(e.address)].join(' ').toLowerCase();
      return words.every((w) => text.includes(w));
    });
  }

  /** The entry saved under `@handle`; a clear error when there is none. */
  async get(handle: string): Promise<AddressBookEntry> {
    const h = checkHandle(handle);
    const entry = (await this.list()).find((e) => e.handle === h);
    if (!entry) {
      const near = (await this.search(h.split(/[._-]/)[0] ?? h)).map((e) => `@${e.handle}`);
      throw new AddressBookError(
        'NO_SUCH_ENTRY',
        `address book: no entry @${h}${near.length ? ` (did you mean ${near.slice(0, 5).join(', ')}?)` : ''}; vpm address-book list shows the saved recipients`,
      );
    }
    return entry;
  }

  /** Saves (or replaces, with `replace`) one entry. */
  async save(
    handle: string,
    address: AddressFields,
    replace = true,
    now = new Date(),
  ): Promise<AddressBookEntry> {
    const h = checkHandle(handle);
    checkEntryAddress(address);
    const entries = await this.list();
    const i = entries.findIndex((e) => e.handle === h);
    if (i !== -1 && !replace)
      throw new AddressBookError('HANDLE_TAKEN', `address book: @${h} is already saved`);
    const entry: AddressBookEntry = { handle: h, address, savedAt: now.toISOString() };
    if (i === -1) entries.push(entry);
    else entries[i] = entry;
    await this.write(entries);
    return entry;
  }

  async remove(handle: string): Promise<void> {
    const h = checkHandle(handle);
    const entries = await this.list();
    const kept = entries.filter((e) => e.handle !== h);
    if (kept.length === entries.length)
      throw new AddressBookError('NO_SUCH_ENTRY', `address book: no entry @${h}`);
    await this.write(kept);
  }

  /**
   * Imports a batch CSV (its address columns, plus an optional `handle`). Every row is checked
   * first; any bad row imports nothing. Handles made from names get -2, -3 … when taken.
   */
  async importCsv(csv: string, now = new Date()): Promise<AddressBookEntry[]> {
    const parsed = parseBatchCsv(csv, { addressesOnly: true });
    if (parsed.errors.length > 0)
      throw new AddressBookError(
        'BAD_IMPORT',
        `address book import: ${parsed.errors.length} bad row(s), nothing imported:\n${parsed.errors.map((e) => `  line ${e.line}: ${e.message}`).join('\n')}`,
      );
    const handles = explicitHandles(csv);
    const entries = await this.list();
    const taken = new Set(entries.map((e) => e.handle));
    const added: AddressBookEntry[] = [];
    for (const piece of parsed.pieces) {
      const given = handles.get(piece.line);
      let h = given ? checkHandle(given) : handleFor(piece.recipient.name);
      if (!given)
        for (let n = 2; taken.has(h); n++)
          h = `${handleFor(piece.recipient.name).slice(0, 36)}-${n}`;
      taken.add(h);
      const entry: AddressBookEntry = {
        handle: h,
        address: piece.recipient,
        savedAt: now.toISOString(),
      };
      const i = entries.findIndex((e) => e.handle === h);
      if (i === -1) entries.push(entry);
      else entries[i] = entry;
      added.push(entry);
    }
    await this.write(entries);
    return added;
  }
}

/** The `handle` column of a CSV, by line number. */
function explicitHandles(csv: string): Map<number, string> {
  const records = parse(csv, {
    relax_column_count: true,
    skip_empty_lines: true,
    trim: true,
    bom: true,
  }) as string[][];
  const column = (records[0] ?? []).findIndex((h) => h.trim().toLowerCase() === 'handle');
  const map = new Map<number, string>();
  if (column === -1) return map;
  records.slice(1).forEach((row, i) => {
    const value = row[column]?.trim();
    if (value) map.set(i + 2, value);
  });
  return map;
}
