/**
 * @module services/output-check
 * Every check of where and how a purchase will print, run BEFORE the data center is asked for
 * postage (patent Fig. 3 starts with the mailer's request; nothing is dispensed for a piece the
 * local print driver will then refuse): the medium is known, the calibration is within what the
 * driver draws, the printer queue exists, accepts jobs and offers the medium's size, and every
 * address can be printed with the label font. The app's services, `vpm print` and `vpm batch`
 * all buy through PostageService, which runs this first.
 */
import { addressProblems } from '../../shared/address-text';
import {
  CupsPrinterDriver,
  PrintError,
  checkCalibration,
  checkDpi,
  mediumById,
  type Address,
  type Medium,
  type PrinterDriver,
  type PrinterInfo,
} from '../print/index';
import type { Output } from './postage-service';

/** An address the label font cannot print, or that carries control characters. */
export class AddressError extends Error {
  readonly code = 'BAD_ADDRESS';
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'AddressError';
  }
}

/** PPD page-size names (and PWG names) a printer may give for each medium. */
const PAGE_SIZE_NAMES: Readonly<Record<Medium['id'], readonly string[]>> = {
  env10: ['env10', 'envno10', 'comm10', 'com10', 'envcomm10'],
  env9: ['env9', 'envno9', 'envcomm9'],
  'env6-3-4': ['envpersonal', 'env6.75', 'env6_3_4', 'envcomm6'],
  env6x9: ['env6x9', '6x9', 'envcatalog6x9'],
  env9x12: ['env9x12', '9x12', 'envcatalog9x12'],
  c5: ['envc5', 'c5'],
  dl: ['envdl', 'dl'],
  label4x6: ['4x6', '4x6in', 'index4x6', 'label4x6', 'w288h432'],
  sheet2x4x6: ['letter', 'lettersmall', 'na_letter'],
};

/** True when a printer that lists these page sizes can take the medium (or does not say). */
export function offersMedium(media: readonly string[], medium: Medium): boolean {
  if (media.length === 0) return true; // the queue does not say: CUPS scales nothing, let it try
  const names = new Set(PAGE_SIZE_NAMES[medium.id]);
  names.add(medium.cupsMedia.toLowerCase());
  const near = (a: number, b: number) => Math.abs(a - b) <= 2;
  return media.some((raw) => {
    const name = raw.toLowerCase();
    if (name.startsWith('custom')) return true; // any size within the printer's limits
    if (names.has(name)) return true;
    const size = /^w(\d+(?:\.\d+)?)h(\d+(?:\.\d+)?)$/.exec(name);
    if (!size) return false;
    const [w, h] = [Number(size[1]), Number(size[2])];
    return (
      (near(w, medium.width) && near(h, medium.height)) ||
      (near(w, medium.height) && near(h, medium.width))
    );
  });
}

/** The printer queue, checked: it exists, accepts jobs and offers the medium's size. */
export async function checkPrinter(
  driver: PrinterDriver,
  name: string,
  medium: Medium,
): Promise<PrinterInfo> {
  const printers = await driver.listPrinters();
  const printer = printers.find((p) => p.name === name);
  if (!printer) {
    const names = printers.map((p) => p.name).join(', ');
    throw new PrintError(
      'PRINT_PRINTER_NOT_FOUND',
      `printer "${name}": no such printer on this computer, so nothing was charged; ${names ? `the printers here are: ${names}` : 'no printers are set up; add one in your system settings or save a PDF instead'}`,
    );
  }
  if (!printer.accepting)
    throw new PrintError(
      'PRINT_JOB_REFUSED',
      `printer "${name}": not accepting jobs, so nothing was charged; turn it back on ("cupsaccept ${name}" and "cupsenable ${name}", or in the printer settings) and print again`,
    );
  if (!offersMedium(printer.media, medium))
    throw new PrintError(
      'PRINT_JOB_REFUSED',
      `printer "${name}": does not offer the ${medium.label} size (it offers ${printer.media.slice(0, 12).join(', ')}${printer.media.length > 12 ? ', …' : ''}), so nothing was charged; choose another medium or printer`,
    );
  return printer;
}

const REQUIRED = ['name', 'street', 'city', 'state', 'zip'] as const;

/** The first problem of an address: a line it needs is empty, or a character will not print. */
function firstProblem(address: Address, who: string): { field: string; message: string } | null {
  for (const field of REQUIRED)
    if (!address[field]?.trim()) return { field, message: `${who}: the ${field} is missing` };
  return addressProblems(address, who)[0] ?? null;
}

/** Refuses the first address that cannot be printed, naming its batch line when it has one. */
export function checkAddresses(
  pieces: Iterable<{ recipient: Address; line?: number }>,
  returnAddress?: Address,
): void {
  if (returnAddress) {
    const problem = firstProblem(returnAddress, 'return address');
    if (problem) throw new AddressError(`${problem.message}; nothing was charged`, problem.field);
  }
  for (const piece of pieces) {
    const problem = firstProblem(piece.recipient, 'recipient');
    if (problem) {
      const where = piece.line === undefined ? '' : `line ${piece.line}: `;
      throw new AddressError(
        `${where}${problem.message}; nothing was charged`,
        `/recipient/${problem.field}`,
      );
    }
  }
}

/**
 * Every output check for a purchase, before it is made. Throws a PrintError or AddressError
 * whose message says nothing was charged and what to change.
 */
export async function checkOutput(
  output: Output,
  pieces: Iterable<{ recipient: Address; line?: number }>,
  driver: PrinterDriver | undefined,
): Promise<void> {
  const medium = mediumById(output.media);
  checkCalibration(output.calibration);
  checkDpi(output.dpi);
  if (output.format === 'zpl' && medium.kind !== 'label')
    throw new PrintError(
      'PRINT_FORMAT_MEDIUM',
      `ZPL: prints on 4 × 6 label rolls only, not ${medium.label}, so nothing was charged; choose --media label4x6 or a PDF`,
    );
  checkAddresses(pieces, output.returnAddress);
  if (output.printer) await checkPrinter(driver ?? new CupsPrinterDriver(), output.printer, medium);
}
