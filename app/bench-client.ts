/**
 * @module app/bench-client
 * The client parts handed to the benchmarks and fault campaigns (bench/mailer-client.ts): the
 * composition root is the only code that joins client/ and bench/.
 */
import type { BenchClient } from '../bench/mailer-client';
import { dataMatrixModules } from '../client/print/datamatrix';
import { DataCenterClient, DataCenterError } from '../client/services/datacenter-client';
import { NO_KEYCHAIN } from '../client/services/keychain';
import { SessionManager } from '../client/services/session';

export const BENCH_CLIENT: BenchClient = {
  connect: (options) => new DataCenterClient(options),
  errorCode: (error) => (error instanceof DataCenterError ? error.code : undefined),
  signOn(home, { serverUrl, caPath }) {
    const session = new SessionManager(home, NO_KEYCHAIN, { server: serverUrl, ca: caPath }, {});
    return {
      signUp: (body) => session.signUp(body),
      signIn: (username, password) => session.signIn(username, password, false),
      refill: (body) => session.call((c) => c.refill(body)),
      close: () => session.close(),
    };
  },
  dataMatrixModules,
};
