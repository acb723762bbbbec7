/**
 * @module boxes/ceremony-main
 * The manufacturing box as its own short-lived process: `vpm datacenter init` runs the key
 * ceremony here, so the top-level secrets exist only in this process, which exits when the
 * boxes' NVM is written. Arguments: the data directory, the number of custodians, the quorum.
 * On success it writes one JSON line to stdout: {dataCenterId, shares, checkValues} (the share
 * lines go to the custodians, never under DIR) and exits 0; the reason on stderr otherwise.
 */
import { initBoxes } from './ceremony';

const [dir, custodians, quorum] = process.argv.slice(2);
if (!dir) {
  process.stderr.write('ceremony: usage: ceremony-main.ts DATA_DIR [CUSTODIANS QUORUM]\n');
  process.exit(2);
}
try {
  const result = await initBoxes(dir, {
    custodians: custodians === undefined ? undefined : Number(custodians),
    quorum: quorum === undefined ? undefined : Number(quorum),
  });
  process.stdout.write(
    `${JSON.stringify({
      dataCenterId: result.dataCenterId,
      shares: result.shares,
      checkValues: result.checkValues,
    })}\n`,
  );
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
