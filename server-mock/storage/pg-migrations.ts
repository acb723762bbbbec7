/**
 * @module storage/pg-migrations
 * Versioned schema of the data center's PostgreSQL database: the same versions, one for one, as
 * the SQLite schema (migrations.ts), with the same invariants — UNIQUE (meter, ascending
 * register), UNIQUE (mailer, idempotency key), one claim per piece — and money in BIGINT columns.
 * The version is kept in `schema_version`; each step runs in the transaction that raises it,
 * under an advisory lock, so nodes starting together migrate once.
 */
export const PG_MIGRATIONS: readonly string[] = [
  // v1
  `
  CREATE TABLE mailers (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    origin_zip TEXT NOT NULL,
    verifier TEXT NOT NULL,
    created_at TEXT NOT NULL,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    low_balance_cents BIGINT NOT NULL DEFAULT 1000,
    auto_refill_cents BIGINT,
    card_token TEXT,
    demo BOOLEAN NOT NULL DEFAULT FALSE
  );
  CREATE TABLE meters (
    serial TEXT PRIMARY KEY,
    mailer_id TEXT NOT NULL UNIQUE REFERENCES mailers(id),
    certificate_serial TEXT NOT NULL UNIQUE,
    certificate_pem TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE TABLE meter_records (
    serial TEXT PRIMARY KEY REFERENCES meters(serial),
    account_id TEXT NOT NULL,
    status TEXT NOT NULL,
    demo BOOLEAN NOT NULL,
    ascending_cents BIGINT NOT NULL,
    descending_cents BIGINT NOT NULL,
    credited_cents BIGINT NOT NULL,
    counter BIGINT NOT NULL,
    wrapped_key TEXT NOT NULL,
    certificate_serial TEXT NOT NULL,
    key_version INTEGER NOT NULL,
    mac_period TEXT NOT NULL,
    mac TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE pieces (
    piece_id TEXT PRIMARY KEY,
    meter_serial TEXT NOT NULL REFERENCES meters(serial),
    mailer_id TEXT NOT NULL,
    idempotency_key TEXT,
    indicium BYTEA NOT NULL,
    signature BYTEA NOT NULL,
    postage_cents BIGINT NOT NULL,
    ascending_cents BIGINT NOT NULL,
    descending_cents BIGINT NOT NULL,
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
    amount_cents BIGINT NOT NULL,
    card_last4 TEXT NOT NULL,
    created_at TEXT NOT NULL,
    receipt TEXT NOT NULL,
    signature TEXT NOT NULL
  );
  CREATE TABLE refunds (
    piece_id TEXT PRIMARY KEY REFERENCES pieces(piece_id),
    meter_serial TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    receipt TEXT NOT NULL,
    signature TEXT NOT NULL
  );
  CREATE TABLE logins (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
    revoked BOOLEAN NOT NULL DEFAULT FALSE
  );
  CREATE TABLE fraud_alerts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
  // v2: history reads through UNIQUE (meter_serial, ascending_cents).
  `DROP INDEX pieces_by_mailer;`,
  // v3: one claim per piece (scan or refund), the post's scanners, the refill card's fingerprint.
  // No PostgreSQL database counted verifications by digest (v1's table was never used here).
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
  DROP TABLE verifications;
  `,
  // v4: the durable outbox of signed reports for the postal authority.
  `CREATE TABLE postal_outbox (seq BIGINT PRIMARY KEY, body TEXT NOT NULL, signature TEXT NOT NULL);`,
  // v5: the tracking number of every piece, searchable; serials from one counter.
  `
  ALTER TABLE pieces ADD COLUMN tracking_number TEXT;
  CREATE INDEX pieces_by_tracking ON pieces(tracking_number) WHERE tracking_number IS NOT NULL;
  CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
  INSERT INTO counters (name, value) VALUES ('tracking', 0);
  `,
  // v6: the sign-on throttle's failure counts, shared by every node.
  `
  CREATE TABLE sign_on_failures (key TEXT PRIMARY KEY, failures BIGINT NOT NULL, last_at BIGINT NOT NULL);
  CREATE INDEX sign_on_failures_by_age ON sign_on_failures (last_at);
  `,
  // v7: tracking serials from a sequence, which every node takes from without waiting: the
  // counter's row was held from each taker's update to its COMMIT's flush, one node after another.
  `
  CREATE SEQUENCE tracking_serials MINVALUE 1;
  SELECT setval('tracking_serials', value + 1, false) FROM counters WHERE name = 'tracking';
  DELETE FROM counters WHERE name = 'tracking';
  `,
];
