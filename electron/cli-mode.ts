/**
 * @module electron/cli-mode
 * `vpm` on the PATH of the deb and rpm packages (build-resources/linux/vpm): the app's own binary,
 * started with --vpm-cli, runs one `vpm` command in its main process with no window and exits with
 * its code. The RunAsNode fuse is off, so the binary cannot run the CLI as a Node script.
 */
export const CLI_SWITCH = '--vpm-cli';

/** The `vpm` arguments when the app was started as the CLI, else undefined. */
export function cliArguments(argv: readonly string[]): string[] | undefined {
  const at = argv.indexOf(CLI_SWITCH);
  return at < 0 ? undefined : argv.slice(at + 1);
}
