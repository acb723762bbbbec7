/**
 * @module postal/store
 * The postal authority's own records, in one SQLite file under its directory (PDIR/postal.db,
 * WAL, synchronous=FULL): approved vendor CAs, each reporting box and the last report it holds in
 * sequence, every report as signed, every reported (meter, ascending register), and its alerts.
 * Nothing here is the data center's: a restored copy of the data center cannot roll it back.
 */
import Database from 'better-sqlite3';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS vendors (
    fingerprint TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    certificate_pem TEXT NOT NULL,
    approved_at TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS boxes (
    box_id TEXT PRIMARY KEY,
    certificate_pem TEXT NOT NULL,
    seq INTEGER NOT NULL,
    total_pieces INTEGER NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS reports (
    box_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    body TEXT NOT NULL,
    signature TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (box_id, seq)
  );
  CREATE TABLE IF NOT EXISTS registers (
    serial TEXT NOT NULL,
    ascending_cents INTEGER NOT NULL,
    piece_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    box_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (serial, ascending_cents)
  );
  CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    box_id TEXT,
    meter_serial TEXT,
    code TEXT NOT NULL,
    reason TEXT NOT NULL
  );
`;

export interface VendorRow {
  fingerprint: string;
  subject: string;
  certificatePem: string;
  approvedAt: string;
}

export interface BoxRow {
  boxId: string;
  certificatePem: string;
  seq: number;
  totalPieces: number;
}

export interface RegisterRow {
  pieceId: string;
  digest: string;
  boxId: string;
  seq: number;
}

export interface PostalAlert {
  id: number;
  createdAt: string;
  boxId: string | null;
  meterSerial: string | null;
  code: string;
  reason: string;
}

type Row = Record<string, unknown>;

export class PostalStore {
  readonly db: Database.Database;

  constructor(file: string, options: { readonly?: boolean } = {}) {
    this.db = new Database(file, {
      readonly: options.readonly ?? false,
      fileMustExist: options.readonly ?? false,
    });
    if (!options.readonly) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.exec(SCHEMA);
    }
  }

  /** Runs `fn` in one IMMEDIATE transaction. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  approveVendor(v: VendorRow): boolean {
    const r = this.db
      .prepare(
        'INSERT OR IGNORE INTO vendors (fingerprint, subject, certificate_pem, approved_at) VALUES (?, ?, ?, ?)',
      )
      .run(v.fingerprint, v.subject, v.certificatePem, v.approvedAt);
    return r.changes > 0;
  }

  vendors(): VendorRow[] {
    return (this.db.prepare('SELECT * FROM vendors ORDER BY approved_at').all() as Row[]).map(
      (r) => ({
        fingerprint: r.fingerprint as string,
        subject: r.subject as string,
        certificatePem: r.certificate_pem as string,
        approvedAt: r.approved_at as string,
      }),
    );
  }

  box(boxId: string): BoxRow | undefined {
    const r = this.db.prepare('SELECT * FROM boxes WHERE box_id = ?').get(boxId) as Row | undefined;
    return (
      r && {
        boxId: r.box_id as string,
        certificatePem: r.certificate_pem as string,
        seq: r.seq as number,
        totalPieces: r.total_pieces as number,
      }
    );
  }

  saveBox(box: BoxRow, at: string): void {
    this.db
      .prepare(
        `INSERT INTO boxes (box_id, certificate_pem, seq, total_pieces, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (box_id) DO UPDATE SET seq = excluded.seq, total_pieces = excluded.total_pieces, updated_at = excluded.updated_at`,
      )
      .run(box.boxId, box.certificatePem, box.seq, box.totalPieces, at);
  }

  report(boxId: string, seq: number): { body: string } | undefined {
    return this.db
      .prepare('SELECT body FROM reports WHERE box_id = ? AND seq = ?')
      .get(boxId, seq) as { body: string } | undefined;
  }

  insertReport(boxId: string, seq: number, body: string, signature: string, at: string): void {
    this.db
      .prepare(
        'INSERT INTO reports (box_id, seq, body, signature, received_at) VALUES (?, ?, ?, ?, ?)',
      )
      .run(boxId, seq, body, signature, at);
  }

  register(serial: string, ascendingCents: number): RegisterRow | undefined {
    const r = this.db
      .prepare('SELECT * FROM registers WHERE serial = ? AND ascending_cents = ?')
      .get(serial, ascendingCents) as Row | undefined;
    return (
      r && {
        pieceId: r.piece_id as string,
        digest: r.digest as string,
        boxId: r.box_id as string,
        seq: r.seq as number,
      }
    );
  }

  insertRegister(serial: string, ascendingCents: number, row: RegisterRow): void {
    this.db
      .prepare(
        'INSERT INTO registers (serial, ascending_cents, piece_id, digest, box_id, seq) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(serial, ascendingCents, row.pieceId, row.digest, row.boxId, row.seq);
  }

  addAlert(a: Omit<PostalAlert, 'id'>): void {
    this.db
      .prepare(
        'INSERT INTO alerts (created_at, box_id, meter_serial, code, reason) VALUES (?, ?, ?, ?, ?)',
      )
      .run(a.createdAt, a.boxId, a.meterSerial, a.code, a.reason);
  }

  alerts(): PostalAlert[] {
    return (this.db.prepare('SELECT * FROM alerts ORDER BY id').all() as Row[]).map((r) => ({
      id: r.id as number,
      createdAt: r.created_at as string,
      boxId: (r.box_id as string | null) ?? null,
      meterSerial: (r.meter_serial as string | null) ?? null,
      code: r.code as string,
      reason: r.reason as string,
    }));
  }

  close(): void {
    this.db.close();
  }
}
