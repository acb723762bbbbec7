/**
 * The tests' PostgreSQL: a real PostgreSQL 15 in a temp dir on a free port (as the `postgres`
 * user when the tests run as root), stopped after; the fault campaign and the bench start theirs
 * the same way (bench/postgres-server.ts). Missing PostgreSQL fails naming
 * `apt-get install postgresql`.
 */
export { PG_BIN, startPostgres, type PostgresServer } from '../../bench/postgres-server';
