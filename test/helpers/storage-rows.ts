/** Rows for the storage tests: a mailer that every engine accepts. */
import type { MailerRow } from '../../server-mock/storage/storage';

/** A mailer whose id, user name and name all end in `key`. */
export function mailerRow(key: string, overrides: Partial<MailerRow> = {}): MailerRow {
  return {
    id: `mailer-${key}`,
    username: `user${key}`,
    name: `User ${key}`,
    originZip: '94107',
    verifier: 'sealed-verifier',
    createdAt: '2026-12-01T10:00:00.000Z',
    failedLogins: 0,
    lockedUntil: null,
    lowBalanceCents: 1000,
    autoRefillCents: null,
    cardToken: null,
    demo: false,
    ...overrides,
  };
}
