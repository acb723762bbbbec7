import { describe, expect, it } from 'vitest';
import { ESLint } from 'eslint';

const eslint = new ESLint();

async function ruleIds(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => m.ruleId ?? m.message);
}

describe('folder boundaries (eslint)', () => {
  it('refuses node:fs in renderer/', async () => {
    expect(
      await ruleIds(
        "import { readFileSync } from 'node:fs';\nreadFileSync('x');\n",
        'renderer/x.ts',
      ),
    ).toContain('no-restricted-imports');
  });

  it('refuses electron in shared/', async () => {
    expect(
      await ruleIds("import { app } from 'electron';\nexport const a = app;\n", 'shared/x.ts'),
    ).toContain('no-restricted-imports');
  });

  it('refuses node:crypto and Node globals in shared/', async () => {
    expect(
      await ruleIds(
        "import { randomBytes } from 'node:crypto';\nexport const r = randomBytes(1);\n",
        'shared/x.ts',
      ),
    ).toContain('no-restricted-imports');
    expect(await ruleIds('export const b = Buffer.from([1]);\n', 'shared/x.ts')).toContain(
      'no-restricted-globals',
    );
  });

  it('refuses electron in server-mock/ and client/', async () => {
    for (const file of ['server-mock/x.ts', 'client/x.ts']) {
      expect(
        await ruleIds("import { app } from 'electron';\nexport const a = app;\n", file),
      ).toContain('no-restricted-imports');
    }
  });

  it('allows electron in electron/', async () => {
    expect(
      await ruleIds("import { app } from 'electron';\nexport const a = app;\n", 'electron/x.ts'),
    ).not.toContain('no-restricted-imports');
  });
});
