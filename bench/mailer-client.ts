/**
 * @module bench/mailer-client
 * The client parts the benchmarks and fault campaigns drive, as bench/ sees them: a mailer's
 * data center API client, a sign-on saved where `vpm` finds it, and the client's Data Matrix
 * encoder. The composition root hands them in (app/bench-client.ts builds them from client/);
 * bench/ imports no client code, and the client imports nothing of bench/.
 */
import type * as Api from '../shared/api/schemas';

/** A mailer's data center API client (what client/services/datacenter-client is). */
export interface MailerApi {
  /** The session token once signed in. */
  readonly token: string | undefined;
  signUp(body: Api.SignUpRequest): Promise<Api.Account>;
  signIn(body: Api.SignInRequest): Promise<Api.SignInResponse>;
  account(): Promise<Api.Account>;
  refill(body: Api.RefillRequest): Promise<Api.Account>;
  dispense(body: Api.DispenseRequest): Promise<Api.DispenseResponse>;
  refund(body: Api.RefundRequest): Promise<Api.RefundResponse>;
  history(query: Api.HistoryQuery): Promise<Api.HistoryResponse>;
  historyCsv(): Promise<string>;
  /** Closes its connections. */
  close(): Promise<void>;
}

/** A mailer signed on in a config home, as `vpm login` leaves it (the `vpm` under test reads it). */
export interface SavedSignOn {
  signUp(body: Api.SignUpRequest): Promise<unknown>;
  /** Signs in and saves the session in the home (no keychain). */
  signIn(username: string, password: string): Promise<unknown>;
  refill(body: Api.RefillRequest): Promise<unknown>;
  close(): Promise<void>;
}

export interface BenchClient {
  /** An API client for the data center at `serverUrl` (nodes comma-separated), trusting `caPem`. */
  connect(options: {
    serverUrl: string;
    caPem: string;
    token?: string;
    retries?: number;
    /** Connections kept to each node; requests beyond them wait for one. */
    connections?: number;
  }): MailerApi;
  /** The error code of a failed MailerApi call (a refusal or the network); undefined otherwise. */
  errorCode(error: unknown): string | undefined;
  /** A sign-on saved in `home` (VPM_HOME) for the data center at `serverUrl` with CA `caPath`. */
  signOn(home: string, server: { serverUrl: string; caPath: string }): SavedSignOn;
  /** The client's Data Matrix encoder (what `vpm batch` draws with): the symbol's modules. */
  dataMatrixModules(bytes: Uint8Array): unknown;
}
