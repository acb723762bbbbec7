export * from './codec';
export * from './verify';
