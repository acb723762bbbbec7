// The machine the tests need, on Debian: the system packages (CUPS with cups-pdf, poppler-utils,
// dmtx-utils, Chromium, zint, zbar, Ghostscript, MuPDF, PostgreSQL, the keyring with D-Bus, libsecret for keytar) and the running CUPS
// with the `PDF` queue (scripts/test-services.sh). As root with apt-get, it installs what is
// missing and starts the services; otherwise it checks them and names the command that provides
// each missing one. Exit code 0 when everything is there. `npm test` runs it first; `.ci/run`
// runs it before `npm ci` too, so that keytar is built against libsecret.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGES = [
  'libsecret-1-dev',
  'gnome-keyring',
  'dbus',
  'dbus-x11',
  'cups',
  'printer-driver-cups-pdf', // apt's cups-pdf
  'cups-client',
  'cups-bsd',
  'poppler-utils',
  'dmtx-utils',
  'chromium',
  'zint',
  'zbar-tools', // zbarimg: reads GS1-128 (IMpb) from label images
  'ghostscript', // rasterizes PDFs at printer resolution
  'mupdf-tools',
  'postgresql', // PostgreSQL 15 server for the storage contract and multi-node tests
  'ca-certificates',
];

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quiet = { stdio: 'ignore' };
const has = (command) => spawnSync('sh', ['-c', `command -v ${command}`], quiet).status === 0;
const isRoot = process.getuid?.() === 0;

function missingPackages() {
  if (!has('dpkg-query')) return undefined; // not Debian
  return PACKAGES.filter((name) => {
    const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
    return r.status !== 0 || !r.stdout.includes('install ok installed');
  });
}

function run(command, args, log) {
  const r = spawnSync(command, args, {
    encoding: 'utf8',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.status !== 0)
    process.stderr.write(`${log}\n${(r.stdout + r.stderr).split('\n').slice(-20).join('\n')}\n`);
  return r.status === 0;
}

/** Installs or checks the packages, then starts or checks CUPS; returns the problems found. */
export function prepareSystem() {
  const problems = [];
  const missing = missingPackages();
  if (missing === undefined) {
    console.log('system packages: not a Debian system; the tools below are checked by the tests');
  } else if (missing.length === 0) {
    console.log('system packages: all installed');
  } else if (isRoot && has('apt-get')) {
    console.log(`system packages: installing ${missing.join(' ')}`);
    if (
      !run('apt-get', ['update', '-qq'], 'apt-get update failed:') ||
      !run('apt-get', ['install', '-y', '-qq', ...missing], 'apt-get install failed:')
    )
      problems.push(`install them: sudo apt-get install ${missing.join(' ')}`);
  } else {
    problems.push(
      `missing system packages; install them: sudo apt-get install ${missing.join(' ')} (or run npm test as root)`,
    );
  }

  const queueUp = () =>
    spawnSync('lpstat', ['-p', 'PDF'], quiet).status === 0 &&
    spawnSync('sh', ['-c', "lpstat -r | grep -q 'is running'"], quiet).status === 0;
  if (isRoot) {
    console.log('services: CUPS with the cups-pdf queue PDF (scripts/test-services.sh)');
    if (
      !run('bash', [join(root, 'scripts', 'test-services.sh')], 'scripts/test-services.sh failed:')
    )
      problems.push('CUPS or its PDF queue did not start: sudo bash scripts/test-services.sh');
  } else if (!has('lpstat') || !queueUp()) {
    problems.push(
      'CUPS is not running with the cups-pdf queue PDF: sudo bash scripts/test-services.sh',
    );
  } else {
    console.log('services: CUPS with the queue PDF is running');
  }
  return problems;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const problems = prepareSystem();
  for (const p of problems) console.error(`test set-up: ${p}`);
  process.exit(problems.length ? 1 : 0);
}
