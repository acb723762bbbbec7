/**
 * The data center's API document passes Redocly's recommended rules (redocly.yaml): every
 * operation has a summary, an operationId, declared security (public ones say so) and a 4xx
 * answer; the document names its server. Client generators and API consoles depend on these.
 * The document is the one the real server builds from its routes (GET /v1/openapi.json).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../server-mock/communication/server';
import { createTls } from '../../server-mock/communication/tls';
import type { DataCenter } from '../../server-mock/function/data-center';

const ROOT = join(import.meta.dirname, '../..');
const dir = await mkdtemp(join(tmpdir(), 'vpm-openapi-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

async function apiDocument(): Promise<Record<string, unknown>> {
  const tls = await createTls(dir);
  // Building the routes touches no data center: the handlers would, and none runs here.
  const app = await buildServer({} as DataCenter, {
    tls: { key: await readFile(tls.keyPath, 'utf8'), cert: await readFile(tls.certPath, 'utf8') },
    version: '0.0.0-test',
    boxStatus: () => ({}),
  });
  try {
    await app.ready();
    return app.swagger() as unknown as Record<string, unknown>;
  } finally {
    await app.close();
  }
}

describe('the API document', () => {
  it('passes redocly lint with the recommended rules: no error, no warning', async () => {
    const doc = await apiDocument();
    const file = join(dir, 'openapi.json');
    await writeFile(file, JSON.stringify(doc));
    const { stdout } = await promisify(execFile)(
      join(ROOT, 'node_modules', '.bin', 'redocly'),
      ['lint', file, '--config', join(ROOT, 'redocly.yaml'), '--format', 'json'],
      {
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
        maxBuffer: 16 * 1024 * 1024,
      },
    ).catch((error: { stdout?: string; stderr?: string }) => {
      throw new Error(`redocly lint failed: ${error.stdout ?? ''}${error.stderr ?? ''}`);
    });
    const report = JSON.parse(stdout) as {
      totals: { errors: number; warnings: number };
      problems: { ruleId: string; message: string }[];
    };
    expect(report.problems.map((p) => `${p.ruleId}: ${p.message}`)).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  });

  it('gives every operation a unique operationId and a summary', async () => {
    const doc = await apiDocument();
    const ids: string[] = [];
    for (const item of Object.values(doc.paths as Record<string, Record<string, unknown>>))
      for (const op of Object.values(item) as { operationId?: string; summary?: string }[]) {
        expect(op.summary).toBeTruthy();
        ids.push(op.operationId ?? '');
      }
    expect(ids.length).toBeGreaterThanOrEqual(16);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
