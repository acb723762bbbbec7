/**
 * @module print
 * The local print driver (client side, used by the app and the CLI): media catalogue, indicium
 * rendering to PDF, printer queues.
 */
export * from './errors';
export * from './media';
export * from './datamatrix';
export * from './layout';
export * from './render';
export * from './piece-plan';
export * from './html';
export * from './printers';
export * from './bridge-printer';
export * from './print-pieces';
export * from './impb';
export * from './label';
export * from './zpl';
