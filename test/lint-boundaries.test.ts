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

describe('folders point one way (eslint-plugin-boundaries)', () => {
  const violation = async (code: string, filePath: string) => {
    const [result] = await eslint.lintText(code, { filePath });
    return (result?.messages ?? []).filter((m) => m.ruleId === 'boundaries/dependencies');
  };
  const importing = (path: string) => `import * as m from '${path}';\nexport const n = m;\n`;

  it('refuses the data center, the postal authority, bench/ and app/ in client/', async () => {
    for (const [file, path] of [
      ['client/services/x.ts', '../../server-mock/index'],
      ['client/x.ts', '../server-mock/boxes/index'],
      ['client/cli/x.ts', '../../postal/index'],
      ['client/cli/x.ts', '../../bench/faults'],
      ['client/cli/x.ts', '../../app/demo-backend'],
    ] as const) {
      const found = await violation(importing(path), file);
      expect(found, `${file} importing ${path}`).toHaveLength(1);
      expect(found[0]?.message).toMatch(/composition root/);
    }
  });

  it('refuses a dynamic import too', async () => {
    const found = await violation(
      "export const load = () => import('../../server-mock/index');\n",
      'client/cli/x.ts',
    );
    expect(found).toHaveLength(1);
  });

  it('refuses the client in the data center, and app/ in bench/', async () => {
    expect(
      await violation(importing('../../client/services/session'), 'server-mock/function/x.ts'),
    ).toHaveLength(1);
    expect(await violation(importing('../app/cli/index'), 'bench/x.ts')).toHaveLength(1);
  });

  it('refuses the client in bench/, a type-only or dynamic import too, and bench/ in the client', async () => {
    for (const [file, code] of [
      ['bench/x.ts', importing('../client/services/session')],
      ['bench/x.ts', importing('../client/print/datamatrix')],
      [
        'bench/x.ts',
        "import type { DataCenterClient } from '../client/services/datacenter-client';\nexport type C = DataCenterClient;\n",
      ],
      ['bench/x.ts', "export const load = () => import('../client/services/keychain');\n"],
    ] as const) {
      const found = await violation(code, file);
      expect(found, `${file}: ${code}`).toHaveLength(1);
      expect(found[0]?.message).toMatch(/hands it the client parts/);
    }
    const back = await violation(importing('../../bench/harness'), 'client/services/x.ts');
    expect(back).toHaveLength(1);
    expect(back[0]?.message).toMatch(/composition root/);
  });

  it('allows the composition root, tests and the client’s own imports', async () => {
    expect(await violation(importing('../server-mock/index'), 'app/x.ts')).toEqual([]);
    expect(await violation(importing('../client/services/demo'), 'app/x.ts')).toEqual([]);
    expect(await violation(importing('../bench/mailer-client'), 'app/x.ts')).toEqual([]);
    expect(await violation(importing('../client/services/session'), 'app/x.ts')).toEqual([]);
    expect(await violation(importing('../../server-mock/index'), 'test/client/x.ts')).toEqual([]);
    expect(await violation(importing('../../shared/money'), 'client/services/x.ts')).toEqual([]);
  });
});
