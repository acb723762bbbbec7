export * from './schemas';
export * from './errors';
