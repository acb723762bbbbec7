/**
 * @module function/rate-tables
 * The rate table the data center serves (`GET /v1/rates`): the one an operator imported last
 * (`vpm datacenter rates import --data DIR FILE`, kept in DIR/rates/), else the table the product
 * ships. Each table is served with the transaction box's signature over its SHA-256
 * (shared/rates/rate-signature.ts), the box's certificate and the vendor CA, so a client checks
 * it offline and prices from its cached copy. An import is checked in full first
 * (shared/rates/rate-table.ts); a bad file is refused with every problem and changes nothing.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkRateTable, RateTableError, type RateTable } from '../../shared/rates/rate-table';
import { RATE_TABLE_KIND, rateTableRecord, rateTableText } from '../../shared/rates/rate-signature';
import { SHIPPED_RATE_TABLE } from '../../shared/rates/shipped-table';
import type { SteelBoxApi, TransactionBoxApi } from '../boxes/api';
import { ApiError } from './api-error';

export interface SignedRates {
  table: RateTable;
  signature: string;
  certificatePem: string;
  vendorCaPem: string;
}

const ratesDir = (dataDir: string) => join(dataDir, 'rates');
const currentFile = (dataDir: string) => join(ratesDir(dataDir), 'current.json');
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** The table in force: the imported one, else the shipped one. */
export async function currentRateTable(
  dataDir: string,
): Promise<{ table: RateTable; from: 'imported' | 'shipped'; mtimeMs: number }> {
  const file = currentFile(dataDir);
  const info = await stat(file).catch(() => undefined);
  if (!info) return { table: SHIPPED_RATE_TABLE, from: 'shipped', mtimeMs: 0 };
  return {
    table: checkRateTable(JSON.parse(await readFile(file, 'utf8'))),
    from: 'imported',
    mtimeMs: info.mtimeMs,
  };
}

/**
 * Loads a new rate table into DIR/rates/. Refuses (RateTableError, nothing written) a file that
 * is not a valid table, or a version already used by another table.
 */
export async function importRateTable(dataDir: string, text: string): Promise<RateTable> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new RateTableError([`not JSON: ${(error as Error).message}`]);
  }
  const table = checkRateTable(value);
  const archive = join(ratesDir(dataDir), `${table.version}.json`);
  const earlier = await readFile(archive, 'utf8').catch(() => undefined);
  const body = `${JSON.stringify(table, null, 2)}\n`;
  if (
    earlier !== undefined &&
    sha256(rateTableText(JSON.parse(earlier))) !== sha256(rateTableText(table))
  )
    throw new RateTableError([
      `/version: ${table.version} was imported before with other prices; give this table a new version`,
    ]);
  if (
    table.version === SHIPPED_RATE_TABLE.version &&
    rateTableText(table) !== rateTableText(SHIPPED_RATE_TABLE)
  )
    throw new RateTableError([
      `/version: ${table.version} is the shipped table's; give this table a new version`,
    ]);
  await mkdir(ratesDir(dataDir), { recursive: true, mode: 0o700 });
  for (const file of [archive, currentFile(dataDir)]) {
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, body, { mode: 0o600 });
    await rename(tmp, file);
  }
  return table;
}

/** What `GET /v1/rates` answers, signed once per table by the transaction box. */
export class RateTables {
  private signed: { key: string; value: SignedRates } | undefined;

  constructor(
    private readonly dataDir: string,
    private readonly boxes: { txn: TransactionBoxApi; steel: SteelBoxApi },
  ) {}

  async current(): Promise<SignedRates> {
    const { table, mtimeMs } = await currentRateTable(this.dataDir);
    const digest = sha256(rateTableText(table));
    const key = `${digest}|${mtimeMs}`;
    if (this.signed?.key === key) return this.signed.value;
    const [{ certificatePem }, { certificatePem: vendorCaPem }] = await Promise.all([
      this.boxes.txn.certificate({}),
      this.boxes.steel.vendorCa(),
    ]);
    if (!certificatePem)
      throw new ApiError(
        'SERVICE_UNAVAILABLE',
        'rates: this data center was initialised before its transaction box had a certificate, so it cannot sign rate tables; clients price from the table they ship',
      );
    const { signature } = await this.boxes.txn.sign({
      kind: RATE_TABLE_KIND,
      body: rateTableRecord(table, digest),
    });
    const value = { table, signature, certificatePem, vendorCaPem };
    this.signed = { key, value };
    return value;
  }
}
