/**
 * @module storage/migrations
 * Versioned schema of the data center's SQLite database. Each entry moves the schema one version
 * up (PRAGMA user_version); applied in one transaction at open.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE mailers (              -- mailer database (62)
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    origin_zip TEXT NOT NULL,
    verifier TEXT NOT NULL,
    created_at TEXT NOT NULL,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    low_balance_cents INTEGER NOT NULL DEFAULT 1000,
    auto_refill_cents INTEGER,
    card_token TEXT,
    demo INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE meters (               -- meter database (60)
    serial TEXT PRIMARY KEY,
    mailer_id TEXT NOT NULL UNIQUE REFERENCES mailers(id),
    certificate_serial TEXT NOT NULL UNIQUE,
    certificate_pem TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE TABLE meter_records (        -- meter records (64): the MACed record, one per meter
    serial TEXT PRIMARY KEY REFERENCES meters(serial),
    account_id TEXT NOT NULL,
    status TEXT NOT NULL,
    demo INTEGER NOT NULL,
    ascending_cents INTEGER NOT NULL,
    descending_cents INTEGER NOT NULL,
    credited_cents INTEGER NOT NULL,
    counter INTEGER NOT NULL,
    wrapped_key TEXT NOT NULL,
    certificate_serial TEXT NOT NULL,
    key_version INTEGER NOT NULL,
    mac_period TEXT NOT NULL,
    mac TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE pieces (               -- transaction records: one per indicium issued
    piece_id TEXT PRIMARY KEY,
    meter_serial TEXT NOT NULL REFERENCES meters(serial),
    mailer_id TEXT NOT NULL,
    idempotency_key TEXT,
    indicium BLOB NOT NULL,
    signature BLOB NOT NULL,
    postage_cents INTEGER NOT NULL,
    ascending_cents INTEGER NOT NULL,
    descending_cents INTEGER NOT NULL,
    mail_class TEXT NOT NULL,
    origin_zip TEXT NOT NULL,
    destination_zip TEXT NOT NULL,
    mailing_date TEXT NOT NULL,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'issued',
    UNIQUE (meter_serial, ascending_cents),
    UNIQUE (mailer_id, idempotency_key)
  );
  CREATE INDEX pieces_by_mailer ON pieces (mailer_id, created_at DESC);
  CREATE TABLE refills (
    id TEXT PRIMARY KEY,
    meter_serial TEXT NOT NULL,
    mailer_id TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    card_last4 TEXT NOT NULL,
    created_at TEXT NOT NULL,
    receipt TEXT NOT NULL,
    signature TEXT NOT NULL
  );
  CREATE TABLE refunds (
    piece_id TEXT PRIMARY KEY REFERENCES pieces(piece_id),
    meter_serial TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    receipt TEXT NOT NULL,
    signature TEXT NOT NULL
  );
  CREATE TABLE logins (               -- login records, signed by the transaction box
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    mailer_id TEXT NOT NULL,
    at TEXT NOT NULL,
    address TEXT NOT NULL,
    body TEXT NOT NULL,
    signature TEXT NOT NULL
  );
  CREATE INDEX logins_by_mailer ON logins (mailer_id, id DESC);
  CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    mailer_id TEXT NOT NULL,
    grant_json TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE fraud_alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    meter_serial TEXT,
    code TEXT NOT NULL,
    reason TEXT NOT NULL
  );
  CREATE TABLE verifications (
    digest TEXT PRIMARY KEY,
    seen INTEGER NOT NULL,
    first_at TEXT NOT NULL,
    last_at TEXT NOT NULL
  );
  CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  `,
  // v2: history reads a meter's pieces in ascending-register order through
  // UNIQUE (meter_serial, ascending_cents); this index cost a page write per piece for nothing.
  `DROP INDEX pieces_by_mailer;`,
  // v3 (issue 14): a piece is used once, by an acceptance scan or by a refund, never both: one
  // claim per piece (the PRIMARY KEY says so), keyed on the piece, not on signature bytes.
  // Scanners are the post's acceptance scanners, by the hash of their credential. A refill keeps
  // the card processor's fingerprint of its card, so a key reused with another card is refused.
  // Verification counts by indicium digest (v1) are carried over in sqlite-storage.ts.
  `
  CREATE TABLE piece_claims (
    piece_id TEXT PRIMARY KEY REFERENCES pieces(piece_id),
    kind TEXT NOT NULL CHECK (kind IN ('scan', 'refund')),
    claimed_by TEXT NOT NULL,
    first_at TEXT NOT NULL,
    last_at TEXT NOT NULL,
    seen INTEGER NOT NULL
  );
  INSERT INTO piece_claims (piece_id, kind, claimed_by, first_at, last_at, seen)
    SELECT piece_id, 'refund', 'refund', created_at, created_at, 0 FROM refunds;
  CREATE TABLE scanners (
    name TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
  );
  ALTER TABLE refills ADD COLUMN card_fingerprint TEXT;
  `,
  // v4: the meter box's signed reports for the postal authority, written in the dispense's own
  // transaction and deleted once the post's receipt covers them (a durable outbox).
  `CREATE TABLE postal_outbox (seq INTEGER PRIMARY KEY, body TEXT NOT NULL, signature TEXT NOT NULL);`,
  // v5 (issue 15): every piece keeps the USPS tracking number assigned to it (IMpb for packages,
  // the IMb tracking code for letters), searchable; serials come from one counter.
  `
  ALTER TABLE pieces ADD COLUMN tracking_number TEXT;
  CREATE INDEX pieces_by_tracking ON pieces(tracking_number) WHERE tracking_number IS NOT NULL;
  CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
  INSERT INTO counters (name, value) VALUES ('tracking', 0);
  `,
  // v6: the sign-on throttle's failure counts (function/sign-on-throttle.ts), shared by every
  // node that serves the data center, so that a guesser gains nothing by changing nodes or by
  // waiting for a restart. Keyed per source and user name, per source, per user name.
  `
  CREATE TABLE sign_on_failures (key TEXT PRIMARY KEY, failures INTEGER NOT NULL, last_at INTEGER NOT NULL);
  CREATE INDEX sign_on_failures_by_age ON sign_on_failures (last_at);
  `,
  // v7: on PostgreSQL the tracking serials moved to a sequence (pg-migrations.ts). Here the one
  // writer takes them from the counter inside the dispense's own commit: nothing changes.
  `-- v7: no change on SQLite`,
];
