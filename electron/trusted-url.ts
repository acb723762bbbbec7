/**
 * @module trusted-url
 * Decides whether a URL belongs to the app itself. A URL is trusted only after `new URL()` has
 * parsed it and its scheme, host and port match the app's own origin exactly: the Vite dev
 * server in development, `app://vpm` when packaged. No prefix or substring tests, no userinfo.
 */

/** The packaged app's origin: the renderer is served by the `app:` protocol handler. */
export const APP_SCHEME = 'app';
export const APP_HOST = 'vpm';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;

const ALLOWED_PROTOCOLS = new Set(['http:', 'https:', `${APP_SCHEME}:`]);

/** "scheme://host[:port]" of a parsed URL, or null if it cannot be an app origin. */
function originKey(url: URL): string | null {
  if (!ALLOWED_PROTOCOLS.has(url.protocol)) return null;
  if (url.username !== '' || url.password !== '') return null;
  if (url.host === '') return null;
  // url.origin is "null" for non-special schemes such as app:, so compare the parts instead.
  return `${url.protocol}//${url.host}`;
}

function parse(raw: string): URL | null {
  try {
    return new URL(raw);
  } catch {
    return null;
  }
}

/** Builds the trust check for one app origin (e.g. "http://localhost:5173" or APP_ORIGIN). */
export function createUrlTrust(appOrigin: string): (raw: unknown) => boolean {
  const own = parse(appOrigin);
  const ownKey = own ? originKey(own) : null;
  if (ownKey === null) throw new Error(`trusted-url: "${appOrigin}" is not a usable app origin`);
  return (raw) => {
    if (typeof raw !== 'string') return false;
    const url = parse(raw);
    return url !== null && originKey(url) === ownKey;
  };
}
