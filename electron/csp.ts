/**
 * @module csp
 * The renderer's Content Security Policy. renderer/index.html carries the same policy in its
 * meta tag (a test keeps the two equal); the app: protocol handler also sends it as a header.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');
