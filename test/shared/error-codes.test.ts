/**
 * One closed table of error codes, from the secure boxes to the screen (shared/errors.ts): every
 * code has advice worded for the app and the CLI alike, every part's codes are in the table, and
 * the data center never answers with a code outside it (its error schema's enum, and every
 * ApiError the server code constructs).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { API_ERROR_CODES, API_ERRORS } from '../../shared/api/errors';
import { ErrorBody } from '../../shared/api/schemas';
import { adviceFor, ERROR_CODES, isErrorCode, withAdvice } from '../../shared/errors';
import { IPC_ERROR_CODES, SERVICE_ERROR_CODES, withAdviceOf } from '../../shared/ipc';
import { BOX_ERROR_CODES } from '../../server-mock/boxes/api';
import { CUSTODY_ERROR_CODES } from '../../server-mock/boxes/custody';
import { PRINT_ERROR_CODES } from '../../client/print/errors';
import { VERIFY_ERROR_CODES } from '../../client/verify/errors';

const ROOT = join(import.meta.dirname, '../..');

async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(join(ROOT, dir), { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && /\.(ts|mjs)$/.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

describe('the error codes', () => {
  it.each(Object.entries(ERROR_CODES))('%s has advice for the app and the CLI alike', (_, e) => {
    expect(e.advice.length).toBeGreaterThan(10);
    expect(e.advice).toMatch(/[.!]$/);
    // No command names or options (the app has none), no menus or clicks (the CLI has none).
    expect(e.advice).not.toMatch(/\bvpm\b|--[a-z]|\bclick\b|\bmenu\b|\bbutton\b/i);
  });

  it('holds every code of every part: data center, boxes, key custody, print driver, verifier, client, app', () => {
    const parts: Record<string, readonly string[]> = {
      api: API_ERROR_CODES,
      boxes: BOX_ERROR_CODES,
      custody: CUSTODY_ERROR_CODES,
      print: Object.keys(PRINT_ERROR_CODES),
      verify: Object.keys(VERIFY_ERROR_CODES),
      ipc: Object.values(IPC_ERROR_CODES),
      services: Object.values(SERVICE_ERROR_CODES),
    };
    for (const [part, codes] of Object.entries(parts))
      for (const code of codes) expect(isErrorCode(code), `${part}: ${code}`).toBe(true);
  });

  it('gives the API its advice from the one table', () => {
    for (const code of API_ERROR_CODES) expect(API_ERRORS[code].advice).toBe(adviceFor(code));
  });

  it('closes the error body of the API: its code is an enum of the table’s codes', () => {
    const code = ErrorBody.properties.error.properties.code as unknown as { enum: string[] };
    expect(code.enum).toEqual(API_ERROR_CODES);
    for (const c of code.enum) expect(isErrorCode(c)).toBe(true);
  });

  it('the data center constructs no error with a code outside the API’s codes', async () => {
    const found = new Set<string>();
    for (const file of await sources('server-mock')) {
      const text = await readFile(file, 'utf8');
      for (const m of text.matchAll(/new ApiError\(\s*'([A-Z][A-Z0-9_]*)'/g)) found.add(m[1]!);
      // The answers written before fastify sees a request (clientErrorResponse).
      for (const m of text.matchAll(/\[\d{3}, '([A-Z][A-Z0-9_]*)'/g)) found.add(m[1]!);
    }
    expect(found.size).toBeGreaterThan(10);
    for (const code of found) expect(API_ERROR_CODES, code).toContain(code);
  });

  it('the client, the app and shared code declare no error code outside the table', async () => {
    const found = new Map<string, string>();
    for (const dir of ['client', 'shared', 'electron', 'app', 'server-mock'])
      for (const file of await sources(dir)) {
        const text = await readFile(file, 'utf8');
        const declared = [
          // class XError { readonly code = 'X' } and readonly code: 'A' | 'B'
          ...[
            ...text.matchAll(
              /readonly code(?: =|:) ('[A-Z][A-Z0-9_]*'(?:\s*\|\s*'[A-Z][A-Z0-9_]*')*)/g,
            ),
          ].map((m) => m[1]!),
          // type SomethingErrorCode = | 'A' | 'B';
          ...[...text.matchAll(/type \w*ErrorCode =([^;]*);/g)].map((m) => m[1]!),
          // new ServiceError('X', …) and new DataCenterError('X', …)
          ...[...text.matchAll(/new (?:Service|DataCenter)Error\(\s*('[A-Z][A-Z0-9_]*')/g)].map(
            (m) => m[1]!,
          ),
        ];
        for (const list of declared)
          for (const m of list.matchAll(/'([A-Z][A-Z0-9_]*)'/g)) found.set(m[1]!, file);
      }
    expect(found.size).toBeGreaterThan(20);
    for (const [code, file] of found) expect(isErrorCode(code), `${code} in ${file}`).toBe(true);
  });
});

describe('advice on the screen', () => {
  it('follows the message once, in the CLI and the renderer alike', () => {
    expect(withAdvice('balance $0.10 is less than $0.78', 'INSUFFICIENT_FUNDS')).toBe(
      'balance $0.10 is less than $0.78. Refill your meter, then try again.',
    );
    const once = withAdvice('x. Refill your meter, then try again.', 'INSUFFICIENT_FUNDS');
    expect(once).toBe('x. Refill your meter, then try again.');
    expect(withAdvice('something', 'NOT_A_CODE')).toBe('something');
    expect(withAdviceOf({ code: 'USERNAME_TAKEN', message: 'user name "ann" is taken' })).toEqual({
      code: 'USERNAME_TAKEN',
      message: 'user name "ann" is taken. Choose another user name.',
    });
    // The app's own INTERNAL message says what to do already.
    expect(withAdviceOf({ code: 'INTERNAL', message: 'Restart the app.' }).message).toBe(
      'Restart the app.',
    );
  });
});
