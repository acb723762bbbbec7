import { describe, expect, it } from 'vitest';
import { APP_ORIGIN, createUrlTrust } from '../../electron/trusted-url';

describe('createUrlTrust()', () => {
  describe('for the packaged app origin app://vpm', () => {
    const trusted = createUrlTrust(APP_ORIGIN);

    it.each(['app://vpm/index.html', 'app://vpm/', 'app://vpm/assets/index-abc.js?x=1#top'])(
      'trusts %s',
      (url) => {
        expect(trusted(url)).toBe(true);
      },
    );

    it.each([
      ['another app host', 'app://vpm.evil.com/index.html'],
      ['a lookalike host', 'app://vprn/index.html'],
      ['userinfo before the host', 'app://vpm@evil.com/index.html'],
      ['userinfo that names the app', 'app://evil:x@vpm/index.html'],
      ['a port', 'app://vpm:8080/index.html'],
      ['file: at the app path', 'file:///opt/vpm/resources/app.asar/.vite/renderer/index.html'],
      ['file: elsewhere', 'file:///etc/passwd'],
      ['javascript:', 'javascript:alert(1)'],
      ['data:', 'data:text/html,<script>alert(1)</script>'],
      ['blob: of the app', 'blob:app://vpm/3f1c2a'],
      ['http with the app host', 'http://vpm/index.html'],
      ['about:blank', 'about:blank'],
      ['an empty string', ''],
      ['not a URL', 'vpm/index.html'],
      ['a relative path', '/index.html'],
    ])('refuses %s', (_why, url) => {
      expect(trusted(url)).toBe(false);
    });

    it('refuses values that are not strings', () => {
      for (const value of [undefined, null, 42, { href: APP_ORIGIN }, new URL(APP_ORIGIN)]) {
        expect(trusted(value)).toBe(false);
      }
    });
  });

  describe('for the dev server origin http://localhost:5173', () => {
    const trusted = createUrlTrust('http://localhost:5173');

    it.each([
      'http://localhost:5173/',
      'http://localhost:5173/src/main.tsx',
      'http://LOCALHOST:5173/index.html',
      'http://localhost:5173/@vite/client',
    ])('trusts %s', (url) => {
      expect(trusted(url)).toBe(true);
    });

    it.each([
      ['another port', 'http://localhost:5174/'],
      ['the default port', 'http://localhost/'],
      ['https instead of http', 'https://localhost:5173/'],
      ['ws: on the same host and port', 'ws://localhost:5173/'],
      ['the app as userinfo of another host', 'http://localhost:5173@evil.com/'],
      ['a fragment that looks like userinfo', 'http://evil.com#@localhost:5173/'],
      ['a query that names the app', 'http://evil.com/?http://localhost:5173/'],
      ['a subdomain lookalike', 'http://localhost.evil.com:5173/'],
      ['a suffix lookalike', 'http://evillocalhost:5173/'],
      ['a homoglyph host (Cyrillic o)', 'http://l\u043ecalhost:5173/'],
      ['the loopback IP instead of the name', 'http://127.0.0.1:5173/'],
      ['the IPv6 loopback', 'http://[::1]:5173/'],
      ['a port glued to a host', 'http://localhost:5173.evil.com/'],
      ['user and password', 'http://user:pass@localhost:5173/'],
      ['javascript: naming the origin', 'javascript:location="http://localhost:5173"'],
      ['data: naming the origin', 'data:text/html,http://localhost:5173'],
      ['file:', 'file://localhost:5173/etc/passwd'],
      ['blob: of the origin', 'blob:http://localhost:5173/2b1d'],
      ['view-source:', 'view-source:http://localhost:5173/'],
      ['protocol-relative', '//localhost:5173/'],
      ['backslashes to another host', 'http:\\\\evil.com\\localhost:5173'],
    ])('refuses %s', (_why, url) => {
      expect(trusted(url)).toBe(false);
    });
  });

  it('refuses to build a check for an origin it cannot match', () => {
    expect(() => createUrlTrust('file:///opt/vpm/index.html')).toThrow(/not a usable app origin/);
    expect(() => createUrlTrust('not a url')).toThrow(/not a usable app origin/);
    expect(() => createUrlTrust('http://user@localhost:5173')).toThrow(/not a usable app origin/);
  });
});
