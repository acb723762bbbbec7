export * from './codec';
export * from './verify';
export * from './low-s';
