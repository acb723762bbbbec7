/**
 * @module app/demo-backend
 * The embedded demo's data center and postal authority, handed to the client (which has no data
 * center code) by the composition root: the real data center on loopback (random port, every
 * meter a demo meter) with a throwaway custodian share set kept in memory only, and a postal
 * authority with its own directory that the data center reports every indicium to. Both load
 * only when a demo starts. The boxes' log lines go to datacenter/boxes.log in the demo's folder,
 * not between the demo's own messages.
 */
import { appendFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StartDemoBackend } from '../client/services/demo';

export const startDemoBackend: StartDemoBackend = async ({ dir, onStep }) => {
  const [{ initDataCenter, startDataCenter }, { approveVendor, initPostal, startPostal }] =
    await Promise.all([import('../server-mock/index'), import('../postal/index')]);
  const dataDir = join(dir, 'datacenter');
  onStep('Creating the demo data center (key ceremony)…');
  // A throwaway custodian share set, kept in this process's memory only (never on disk).
  const { shares } = await initDataCenter(dataDir, { demo: true });
  onStep('Starting a postal authority for the demo (its own throwaway directory)…');
  const postalDir = join(dir, 'postal');
  const { caPath: postalCa } = await initPostal(postalDir);
  await approveVendor(postalDir, await readFile(join(dataDir, 'boxes', 'vendor-ca.pem'), 'utf8'));
  const postal = await startPostal({ dataDir: postalDir, host: '127.0.0.1', port: 0 });
  onStep('Starting its secure boxes and HTTPS server on loopback…');
  try {
    const running = await startDataCenter({
      dataDir,
      host: '127.0.0.1',
      port: 0,
      shares,
      postal: { url: postal.url, caPem: await readFile(postalCa, 'utf8') },
      boxLog: (line) => {
        try {
          appendFileSync(join(dataDir, 'boxes.log'), `${line}\n`, { mode: 0o600 });
        } catch {
          // The demo's folder is gone (the demo closed): the line has no reader left.
        }
      },
    });
    return {
      url: running.url,
      caPath: running.caPath,
      postal: { url: postal.url, caPath: postal.caPath },
      async close() {
        await running.close();
        await postal.close();
      },
    };
  } catch (error) {
    await postal.close();
    throw error;
  }
};
