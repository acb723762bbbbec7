/**
 * @module verify
 * The verifier: reads a scanned or printed piece and tells whether its indicium is valid postage.
 */
export * from './errors';
export * from './cert-bundle';
export * from './scan';
export * from './verify-scan';
export * from './postal-check';
