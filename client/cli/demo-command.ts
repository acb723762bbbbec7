/**
 * @module cli/demo-command
 * `vpm demo [--out FILE.pdf]`: the whole product offline in one command — an embedded data
 * center, a demo mailer, one SAMPLE piece printed to a PDF and checked by the verifier.
 * `vpm start` does the same and keeps the demo data center running for the other commands.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { formatDollars } from '../../shared/money';
import type { Demo, StartDemoBackend, startDemo as StartDemo } from '../services/demo';
import { io } from './io';

const out = (line: string) => io().stdout.write(`${line}\n`);
/**
 * The package's root: two folders up from this source file, one up from the chunk in dist/ that
 * the build makes of it (the command runs built; `new URL('../..')` pointed above the package).
 */
const ROOT = ((here) => resolve(dirname(here), extname(here) === '.ts' ? '../..' : '..'))(
  fileURLToPath(import.meta.url),
);
const FORGE_CLI = join(ROOT, 'node_modules', '@electron-forge', 'cli', 'dist', 'electron-forge.js');

/**
 * How a shell in `cwd` runs this package's vpm: `node` and its bin/vpm.mjs (relative below `cwd`,
 * else absolute, quoted for the shell where needed), or `vpm` where there is no bin/vpm.mjs (a
 * deb or rpm puts the command on the PATH).
 */
export function vpmCommand(root: string, cwd: string): string {
  const file = join(root, 'bin', 'vpm.mjs');
  if (!existsSync(file)) return 'vpm';
  const near = relative(cwd, file);
  const path = near.startsWith('..') || isAbsolute(near) ? file : near;
  return `node ${/[^\w./-]/.test(path) ? `'${path.replace(/'/g, `'\\''`)}'` : path}`;
}

/** The Electron binary, if its download was installed (users' machines), else undefined. */
function electronBinary(): string | undefined {
  try {
    const path = createRequire(import.meta.url)('electron') as unknown;
    return typeof path === 'string' && existsSync(path) && existsSync(FORGE_CLI) ? path : undefined;
  } catch {
    return undefined; // "Electron failed to install correctly": installed without its binary
  }
}

/** The demo, loaded only by the demo commands. */
const startDemo: typeof StartDemo = async (backend, options) =>
  (await import('../services/demo')).startDemo(backend, options);

async function samplePiece(demo: Demo, file: string): Promise<string> {
  const [{ PostageService }, { verifyIndicium }, { bundleSource, verifyScan }] = await Promise.all([
    import('../services/postage-service'),
    import('../../shared/indicium/verify'),
    import('../verify/index'),
  ]);
  const postage = new PostageService(demo.session, demo.home);
  const r = await postage.printOne(
    {
      recipient: {
        name: 'Ada Lovelace',
        street: '12 Analytical Way',
        city: 'Arlington',
        state: 'VA',
        zip: '22201',
      },
      postageCents: 78,
      mailClass: 'first-class',
    },
    {
      out: file,
      media: 'env10',
      returnAddress: {
        name: 'Demo Mailer',
        street: '1 Sample St',
        city: 'Washington',
        state: 'DC',
        zip: '20260',
      },
    },
  );
  out(
    `SAMPLE piece ${r.piece.pieceId} (${formatDollars(r.piece.postageCents)}, not valid postage) written to ${r.pdfPath}. Demo balance ${formatDollars(r.balanceCents)}.`,
  );
  const bundle = await demo.session.call((c) => c.certificates());
  try {
    const report = await verifyScan(file, { certificates: bundleSource(bundle) });
    out(`Verifier: ${report.line}`);
    return report.verdict;
  } catch (error) {
    if ((error as { code?: string }).code !== 'VERIFY_RASTERIZER_MISSING') throw error;
    // No poppler-utils here to read the PDF back: check the indicium the data center returned.
    const bytes = new Uint8Array(Buffer.from(r.piece.indicium, 'base64'));
    const result = await verifyIndicium(bytes, bundleSource(bundle));
    out(
      `Verifier (indicium bytes; install poppler-utils to check the PDF itself): ${result.verdict}: ${result.reason}`,
    );
    return result.verdict;
  }
}

/** The demo commands, over the embedded data center the composition root hands in. */
export function registerDemoCommands(program: Command, startBackend: StartDemoBackend): void {
  const onStep = (step: string) => io().stderr.write(`${step}\n`);
  program
    .command('demo')
    .description(
      'offline demo: embedded data center, demo account, one SAMPLE piece to a PDF, verified',
    )
    .option('--out <file>', 'where to write the SAMPLE PDF', 'vpm-demo-sample.pdf')
    .action(async (opts: { out: string }) => {
      const demo = await startDemo(startBackend, { onStep });
      try {
        await samplePiece(demo, resolve(opts.out));
      } finally {
        await demo.close();
      }
    });

  program
    .command('start')
    .description(
      'start the product in offline demo mode: the desktop app where Electron is installed, else the demo without a window',
    )
    .option('--out <file>', 'where to write the first SAMPLE PDF', 'vpm-demo-sample.pdf')
    .option('--no-window', 'run the demo without the desktop app')
    .action(async (opts: { out: string; window: boolean }) => {
      const electron = opts.window ? electronBinary() : undefined;
      if (electron) {
        // The desktop app starts in demo mode (its default settings) with its own banner.
        const code = await new Promise<number | null>((resolve) => {
          const child = spawn(process.execPath, [FORGE_CLI, 'start'], {
            stdio: 'inherit',
            cwd: ROOT,
          });
          child.on('exit', resolve);
        });
        process.exitCode = code ?? 1;
        return;
      }
      if (opts.window) {
        io().stderr.write(
          "Electron's binary is not installed here (ELECTRON_SKIP_BINARY_DOWNLOAD), so the demo runs without the desktop window.\n",
        );
      }
      const demo = await startDemo(startBackend, { onStep });
      try {
        await samplePiece(demo, resolve(opts.out));
        out('');
        out(`Offline demo running: data center ${demo.backend.url} (CA ${demo.backend.caPath}).`);
        out(
          `  It reports every indicium to the demo's postal authority at ${demo.backend.postal.url} (CA ${demo.backend.postal.caPath}).`,
        );
        const vpm = `VPM_HOME=${demo.home} VPM_KEYCHAIN=none ${vpmCommand(ROOT, process.cwd())}`;
        out(`Try: ${vpm} balance`);
        out(
          `     ${vpm} print --to "Ann Lee, 1 Main St, Springfield, IL 62701" --postage 0.78 --out piece.pdf`,
        );
        out(
          'Where Electron is installed, npm start opens the desktop app in this demo mode instead.',
        );
        out('Press Ctrl+C to stop; the demo data is discarded.');
        await new Promise<void>((done) => {
          process.once('SIGINT', done);
          process.once('SIGTERM', done);
        });
      } finally {
        await demo.close();
      }
    });
}
