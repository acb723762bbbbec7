export * from './storage';
export { SqliteStorage } from './sqlite-storage';
