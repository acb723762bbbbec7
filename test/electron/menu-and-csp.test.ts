import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY } from '../../electron/csp';
import { menuTemplate } from '../../electron/menu';

describe('menuTemplate()', () => {
  const roles = (dev: boolean) =>
    JSON.stringify(menuTemplate({ isMac: false, appName: 'Virtual Postage Meter', dev }));

  it('offers developer tools only in development', () => {
    expect(roles(false)).not.toContain('toggleDevTools');
    expect(roles(true)).toContain('toggleDevTools');
  });

  it('adds the app menu on macOS', () => {
    const template = menuTemplate({ isMac: true, appName: 'Virtual Postage Meter', dev: false });
    expect(template[0]?.label).toBe('Virtual Postage Meter');
  });
});

describe('CONTENT_SECURITY_POLICY', () => {
  it('is the policy of the meta tag in renderer/index.html', async () => {
    const html = await readFile(new URL('../../renderer/index.html', import.meta.url), 'utf8');
    const meta = /<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]+)"/i.exec(html);
    expect(meta?.[1]).toBe(CONTENT_SECURITY_POLICY);
  });

  it('allows no inline or remote script, and no plugins', () => {
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe-inline');
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe-eval');
    expect(CONTENT_SECURITY_POLICY).toContain("object-src 'none'");
  });
});
