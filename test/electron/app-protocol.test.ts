import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { contentTypeFor, resolveAppFile } from '../../electron/app-protocol';

const root = path.resolve('/opt/vpm/renderer');

describe('resolveAppFile()', () => {
  it.each([
    ['app://vpm/', 'index.html'],
    ['app://vpm/index.html', 'index.html'],
    ['app://vpm/assets/index-abc.js?v=1', 'assets/index-abc.js'],
    ['app://vpm/assets/a%20b.css', 'assets/a b.css'],
  ])('maps %s inside the renderer folder', (url, relative) => {
    expect(resolveAppFile(url, root)).toBe(path.join(root, relative));
  });

  it.each([
    ['an encoded slash traversal', 'app://vpm/assets/..%2f..%2f..%2fetc/passwd'],
    ['an encoded backslash', 'app://vpm/..%5c..%5cetc%5cpasswd'],
    ['a NUL byte', 'app://vpm/index.html%00.png'],
    ['bad percent-encoding', 'app://vpm/%E0%A4%A'],
    ['another host', 'app://evil/index.html'],
    ['userinfo', 'app://x@vpm/index.html'],
    ['another scheme', 'file:///opt/vpm/renderer/index.html'],
    ['not a URL', '../index.html'],
  ])('refuses %s', (_why, url) => {
    expect(resolveAppFile(url, root)).toBeNull();
  });

  it.each([
    ['dot-dot segments', 'app://vpm/../../etc/passwd'],
    ['encoded dot-dot', 'app://vpm/%2e%2e/%2e%2e/etc/passwd'],
  ])('keeps %s inside the renderer folder', (_why, url) => {
    expect(resolveAppFile(url, root)).toBe(path.join(root, 'etc/passwd'));
  });
});

describe('contentTypeFor()', () => {
  it('types the renderer files and serves unknown ones as bytes', () => {
    expect(contentTypeFor('/x/index.html')).toMatch(/^text\/html/);
    expect(contentTypeFor('/x/a.JS')).toMatch(/^text\/javascript/);
    expect(contentTypeFor('/x/a.exe')).toBe('application/octet-stream');
  });
});
