/**
 * The authentication box (patent part 40) and the transaction box (part 42), as real processes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenHashOf } from '../../../server-mock/boxes/index';
import { expectBoxError, freshBoxes, type Fixture } from './helpers';

const TOKEN_HASH = tokenHashOf('a bearer token');

let fx: Fixture;
beforeAll(async () => {
  fx = await freshBoxes();
});
afterAll(async () => {
  await fx.dispose();
});

describe('AuthBox', () => {
  describe('enroll() and authenticate()', () => {
    it('turns a password into an opaque verifier and grants a session for the right password', async () => {
      const { verifier } = await fx.boxes.auth.enroll({
        mailerId: 'm-1',
        password: 'correct horse',
      });
      expect(verifier).not.toContain('correct');
      const grant = await fx.boxes.auth.authenticate({
        mailerId: 'm-1',
        password: 'correct horse',
        verifier,
        ttlSeconds: 600,
        tokenHash: TOKEN_HASH,
      });
      expect(grant.mailerId).toBe('m-1');
      expect(Date.parse(grant.expiresAt)).toBeGreaterThan(Date.now());
      expect(await fx.boxes.auth.checkGrant({ grant })).toEqual({
        mailerId: 'm-1',
        sessionId: grant.sessionId,
      });
    });

    it('refuses a wrong password, and a verifier enrolled for another mailer, with AUTH_FAILED', async () => {
      const { verifier } = await fx.boxes.auth.enroll({ mailerId: 'm-2', password: 'pw-2' });
      await expectBoxError(
        fx.boxes.auth.authenticate({
          mailerId: 'm-2',
          password: 'pw-x',
          verifier,
          ttlSeconds: 60,
          tokenHash: TOKEN_HASH,
        }),
        'AUTH_FAILED',
      );
      await expectBoxError(
        fx.boxes.auth.authenticate({
          mailerId: 'm-3',
          password: 'pw-2',
          verifier,
          ttlSeconds: 60,
          tokenHash: TOKEN_HASH,
        }),
        'AUTH_FAILED',
      );
    });

    it('refuses malformed arguments with BAD_REQUEST', async () => {
      await expectBoxError(fx.boxes.auth.enroll({ mailerId: 'm', password: '' }), 'BAD_REQUEST');
      await expectBoxError(
        fx.boxes.auth.authenticate({
          mailerId: 'm',
          password: 'p',
          verifier: '!!',
          ttlSeconds: 60,
          tokenHash: TOKEN_HASH,
        }),
        'BAD_REQUEST',
      );
      await expectBoxError(
        fx.boxes.auth.authenticate({
          mailerId: 'm',
          password: 'p',
          verifier: 'AAAA',
          ttlSeconds: 0,
          tokenHash: TOKEN_HASH,
        }),
        'BAD_REQUEST',
      );
    });
  });

  describe('checkGrant()', () => {
    it('refuses a grant whose fields were changed, or that has expired, with AUTH_FAILED', async () => {
      const { verifier } = await fx.boxes.auth.enroll({ mailerId: 'm-4', password: 'pw' });
      const grant = await fx.boxes.auth.authenticate({
        mailerId: 'm-4',
        password: 'pw',
        verifier,
        ttlSeconds: 1,
        tokenHash: TOKEN_HASH,
      });
      await expectBoxError(
        fx.boxes.auth.checkGrant({ grant: { ...grant, mailerId: 'm-5' } }),
        'AUTH_FAILED',
      );
      await expectBoxError(
        fx.boxes.auth.checkGrant({ grant: { ...grant, expiresAt: '2999-01-01T00:00:00.000Z' } }),
        'AUTH_FAILED',
      );
      await new Promise((r) => setTimeout(r, 1100));
      await expectBoxError(fx.boxes.auth.checkGrant({ grant }), 'AUTH_FAILED');
    });
  });
});

describe('TransactionBox', () => {
  describe('sign() and verify()', () => {
    it('signs canonical JSON, so key order does not matter, and detects any change', async () => {
      const { signature } = await fx.boxes.txn.sign({
        kind: 'login',
        body: { mailerId: 'm-1', at: '2025-01-01T00:00:00Z', n: 3 },
      });
      expect(
        await fx.boxes.txn.verify({
          kind: 'login',
          body: { n: 3, at: '2025-01-01T00:00:00Z', mailerId: 'm-1' },
          signature,
        }),
      ).toEqual({ valid: true });
      expect(
        await fx.boxes.txn.verify({
          kind: 'login',
          body: { n: 4, at: '2025-01-01T00:00:00Z', mailerId: 'm-1' },
          signature,
        }),
      ).toEqual({ valid: false });
      expect(
        await fx.boxes.txn.verify({
          kind: 'refill-receipt',
          body: { n: 3, at: '2025-01-01T00:00:00Z', mailerId: 'm-1' },
          signature,
        }),
      ).toEqual({ valid: false });
    });

    it('refuses a malformed signature with BAD_SIGNATURE and a malformed record with BAD_REQUEST', async () => {
      await expectBoxError(
        fx.boxes.txn.verify({ kind: 'login', body: {}, signature: 'AAAA' }),
        'BAD_SIGNATURE',
      );
      await expectBoxError(fx.boxes.txn.sign({ kind: 'Login!', body: {} }), 'BAD_REQUEST');
      await expectBoxError(fx.boxes.txn.sign({ kind: 'login', body: [] as never }), 'BAD_REQUEST');
    });
  });
});
