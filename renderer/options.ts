/**
 * @module renderer/options
 * Option lists for selects: mail classes, media, printers (with "Save PDF only"), output format
 * and thermal-printer resolution.
 */
import { type PrinterInfo } from '../shared/ipc';
import { MEDIA, MEDIA_NAMES } from '../shared/domain';
import { MAIL_CLASSES, MAIL_CLASS_NAMES } from '../shared/mail-class';

export const MAIL_CLASS_OPTIONS = MAIL_CLASS_NAMES.map((name) => ({
  value: name,
  label: MAIL_CLASSES[name].label,
}));

export const MEDIA_OPTIONS = MEDIA_NAMES.map((name) => ({ value: name, label: MEDIA[name].label }));

/** The select value that stands for "no printer: save the PDF only". */
export const PDF_ONLY = '';

export function printerOptions(printers: readonly PrinterInfo[], format: 'pdf' | 'zpl' = 'pdf') {
  return [
    { value: PDF_ONLY, label: `Save ${format === 'zpl' ? 'ZPL' : 'PDF'} only (no printer)` },
    ...printers.map((p) => ({
      value: p.name,
      label: p.isDefault ? `${p.name} (default)` : p.name,
    })),
  ];
}

export function toPrinter(value: string): string | null {
  return value === PDF_ONLY ? null : value;
}

/** What a print goes out as: a PDF, or ZPL II for a Zebra-compatible thermal printer. */
export const FORMAT_OPTIONS = [
  { value: 'pdf', label: 'PDF' },
  { value: 'zpl', label: 'ZPL II (Zebra-compatible thermal printer, 4 × 6 labels)' },
];

/** The select value that stands for "not a thermal printer" (no dot grid). */
export const NO_DPI = '';

export function dpiOptions(format: 'pdf' | 'zpl') {
  return [
    // ZPL is written for one resolution, so it has no "none".
    ...(format === 'pdf' ? [{ value: NO_DPI, label: 'Not a thermal printer' }] : []),
    { value: '203', label: '203 dpi (8 dots/mm)' },
    { value: '300', label: '300 dpi (12 dots/mm)' },
  ];
}

/** The thermal fields of a print request, from the print setup. */
export function thermalRequest(setup: { format: 'pdf' | 'zpl'; dpi: 203 | 300 | null }) {
  return {
    ...(setup.format === 'zpl' ? { format: 'zpl' as const } : {}),
    ...(setup.dpi !== null ? { dpi: setup.dpi } : {}),
  };
}

/** Where a print went, for the success message: the printer job, or the saved file. */
export function outputPlace(format: 'pdf' | 'zpl', path: string, jobId: string | null): string {
  const kind = format === 'zpl' ? 'ZPL' : 'PDF';
  if (jobId === null) return `${kind} saved to ${path}`;
  return `sent to the printer (job ${jobId})${path ? `; ${kind} kept at ${path}` : ''}`;
}
