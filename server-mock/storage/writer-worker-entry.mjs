// Entry of the database writer thread: registers the TypeScript loader in this thread (loader
// hooks are per thread), then runs writer-worker.ts.
import { register } from 'tsx/esm/api';

register();
await import('./writer-worker.ts');
