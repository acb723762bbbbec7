/**
 * @module cli/errors
 * Exit codes of `vpm` and the one error type its commands throw.
 *
 * | code | meaning |
 * |---|---|
 * | 0 | success |
 * | 1 | the operation was refused (the message says why and what to do) |
 * | 2 | bad usage: a missing or malformed option |
 * | 3 | not signed in, or the session ended: run `vpm login` |
 * | 4 | the data center could not be reached |
 * | 5 | `vpm verify`: the indicium is not valid postage |
 */
export const EXIT = {
  ok: 0,
  refused: 1,
  usage: 2,
  signedOut: 3,
  unreachable: 4,
  invalid: 5,
} as const;

/** An error the CLI prints as one line, with the exit code it maps to. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.refused,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
