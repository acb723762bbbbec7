/**
 * @module cli/verify-command
 * `vpm verify FILE [--certs BUNDLE] [--allow-sample] [--postal URL --postal-ca FILE]
 * [--accept --scanner-token-stdin]`: the
 * verifier on the command line; with a postal authority (or VPM_POSTAL and VPM_POSTAL_CA) it also
 * asks whether each piece was reported by its meter (../verify/postal-check.ts). Prints
 * one verdict line on stdout (valid, demo sample, bad signature, unknown certificate, duplicate,
 * wrong date, unreadable); exits 0 only for valid postage (or a demo sample with
 * --allow-sample), else 5. Online, the verdict is the worst of its own check and the data
 * center's; offline (--certs), the line says that duplicates and refunds were not checked.
 * With --accept, the post's acceptance scan: once every check passed, each piece is recorded as
 * used at the data center with the post's scanner credential (`vpm datacenter scanner-token`,
 * read from stdin, never argv); a piece scanned or refunded before is refused. Plain verification
 * changes nothing.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { readSecret } from './context';
import type { DataCenterClient } from '../services/datacenter-client';
import type { PostalLink, VerifyScanOptions } from '../verify';
import { CliError, EXIT } from './errors';
import { io } from './io';

interface VerifyFlags {
  certs?: string;
  allowSample?: boolean;
  postal?: string;
  postalCa?: string;
  accept?: boolean;
  scannerTokenStdin?: boolean;
}

/** The postal authority to ask, from the flags or VPM_POSTAL / VPM_POSTAL_CA. */
async function postalLink(flags: VerifyFlags): Promise<PostalLink | undefined> {
  const url = flags.postal ?? io().env.VPM_POSTAL;
  const caFile = flags.postalCa ?? io().env.VPM_POSTAL_CA;
  if (!url && !caFile) return undefined;
  if (!url || !caFile)
    throw new CliError('verify: give both --postal URL and --postal-ca FILE', EXIT.usage);
  const caPem = await readFile(caFile, 'utf8').catch(() => {
    throw new CliError(`verify: cannot read the postal authority's CA ${caFile}`, EXIT.usage);
  });
  return { url, caPem };
}

export function registerVerifyCommand(program: Command): void {
  program
    .command('verify')
    .description('check the indicium on a scanned or printed piece (PNG, JPEG or PDF)')
    .argument('<file>', 'scan of the piece: PNG, JPEG or PDF')
    .option('--certs <file>', 'offline certificate bundle (JSON: vendorCaPem, certificates)')
    .option('--allow-sample', 'exit 0 for a demo sample too')
    .option('--postal <url>', 'also ask the postal authority whether each piece was reported')
    .option('--postal-ca <file>', "the postal authority's CA certificate")
    .option('--accept', "the post's acceptance scan: record each valid piece as used (online)")
    .option('--scanner-token-stdin', "read the post's scanner credential from standard input")
    .action(async (file: string, flags: VerifyFlags, command: Command) => {
      if (flags.accept && flags.certs)
        throw new CliError(
          'verify: --accept records the scan at the data center; it cannot run offline with --certs',
          EXIT.usage,
        );
      // Loaded here, not at start, so that other commands do not pay for the verifier.
      const [{ DataCenterClient }, { configHome }, { openKeychain }, { SessionManager }, verify] =
        await Promise.all([
          import('../services/datacenter-client'),
          import('../services/config'),
          import('../services/keychain'),
          import('../services/session'),
          import('../verify'),
        ]);
      const { VerifyError, bundleSource, loadBundle, verifyScan, VERDICT_LABEL, checkWithPostal } =
        verify;
      let report;
      let postalLines: string[] = [];
      let postalAccepted = true;
      let online: DataCenterClient | undefined;
      let scanner: { serverUrl: string; caPem: string } | undefined;
      try {
        let options: VerifyScanOptions;
        if (flags.certs) {
          options = { certificates: await loadBundle(flags.certs) };
        } else {
          // Online: the data center's certificate directory, and its record of indicia seen before.
          const { env } = io();
          const session = new SessionManager(
            configHome(env),
            await openKeychain(env),
            command.optsWithGlobals(),
            env,
          );
          const server = await session.server().catch(() => {
            throw new CliError(
              'verify: no data center configured; pass --server URL --ca FILE, or an offline bundle with --certs FILE',
              EXIT.usage,
            );
          });
          online = new DataCenterClient({ serverUrl: server.serverUrl, caPem: server.caPem });
          scanner = { serverUrl: server.serverUrl, caPem: server.caPem };
          const client = online;
          // The verdict is the worst of this verifier's and the data center's: an indicium the
          // data center calls unrecorded, forged, refunded or used is never printed as valid.
          options = {
            certificates: bundleSource(await client.certificates()),
            server: async (bytes) => {
              const answer = await client.verify(bytes);
              return { verdict: String(answer.verdict), reason: answer.reason };
            },
          };
        }
        const postal = await postalLink(flags);
        report = await verifyScan(file, options);
        if (postal) {
          const asked = await checkWithPostal(report, options.certificates, postal);
          postalLines = asked.findings.map((f) => f.line);
          postalAccepted = asked.accepted;
        }
      } catch (error) {
        if (error instanceof VerifyError) {
          const usage = error.code === 'VERIFY_BAD_BUNDLE' || error.code === 'VERIFY_FILE_MISSING';
          throw new CliError(error.message, usage ? EXIT.usage : EXIT.refused);
        }
        throw error;
      } finally {
        await online?.close();
      }
      io().stdout.write(`${report.line}\n`);
      for (const line of postalLines) io().stdout.write(`${line}\n`);
      if (!postalAccepted)
        throw new CliError(
          'verify: the postal authority does not accept this postage',
          EXIT.invalid,
        );
      const accepted =
        report.verdict === 'valid' ||
        (report.verdict === 'demo-sample' && flags.allowSample === true);
      if (!accepted) {
        throw new CliError(
          `verify: ${VERDICT_LABEL[report.verdict]}, not accepted as postage`,
          EXIT.invalid,
        );
      }
      if (flags.accept && scanner) {
        const token = await readSecret(
          flags.scannerTokenStdin === true,
          "The post's scanner credential: ",
        );
        if (!token) throw new CliError('verify: --accept needs the scanner credential', EXIT.usage);
        const post = new DataCenterClient({ ...scanner, token });
        try {
          for (const piece of report.pieces) {
            if (piece.verdict !== 'valid' && piece.verdict !== 'demo-sample') continue;
            const fields = piece.indicium?.fields;
            const answer = await post.scan(piece.bytes);
            if (answer.verdict !== 'valid' && answer.verdict !== 'demo-sample')
              throw new CliError(
                `verify: piece ${fields?.pieceId ?? '?'} not accepted at the scan: ${answer.reason}`,
                EXIT.invalid,
              );
            io().stdout.write(`accepted: piece ${fields?.pieceId ?? '?'} scanned as used\n`);
          }
        } finally {
          await post.close();
        }
      }
    });
}
