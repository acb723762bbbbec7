/**
 * @module cli/verify-command
 * `vpm verify FILE --certs BUNDLE [--allow-sample]`: the verifier on the command line. Prints
 * one verdict line on stdout (valid, demo sample, bad signature, unknown certificate, duplicate,
 * unreadable); exits 0 only for valid postage (or a demo sample with --allow-sample), else 5.
 */
import type { Command } from 'commander';
import { VerifyError, loadBundle, verifyScan, VERDICT_LABEL } from '../verify';
import { CliError, EXIT } from './errors';

interface VerifyFlags {
  certs?: string;
  allowSample?: boolean;
}

export function registerVerifyCommand(program: Command): void {
  program
    .command('verify')
    .description('check the indicium on a scanned or printed piece (PNG, JPEG or PDF)')
    .argument('<file>', 'scan of the piece: PNG, JPEG or PDF')
    .option('--certs <file>', 'offline certificate bundle (JSON: vendorCaPem, certificates)')
    .option('--allow-sample', 'exit 0 for a demo sample too')
    .action(async (file: string, flags: VerifyFlags) => {
      if (!flags.certs) {
        throw new CliError(
          'verify: --certs FILE is required: online verification against the data center is not in this build yet; pass the offline certificate bundle',
          EXIT.usage,
        );
      }
      let report;
      try {
        const certificates = await loadBundle(flags.certs);
        report = await verifyScan(file, { certificates });
      } catch (error) {
        if (error instanceof VerifyError) {
          const usage = error.code === 'VERIFY_BAD_BUNDLE' || error.code === 'VERIFY_FILE_MISSING';
          throw new CliError(error.message, usage ? EXIT.usage : EXIT.refused);
        }
        throw error;
      }
      process.stdout.write(`${report.line}\n`);
      const accepted =
        report.verdict === 'valid' ||
        (report.verdict === 'demo-sample' && flags.allowSample === true);
      if (!accepted) {
        throw new CliError(
          `verify: ${VERDICT_LABEL[report.verdict]}, not accepted as postage`,
          EXIT.invalid,
        );
      }
    });
}
