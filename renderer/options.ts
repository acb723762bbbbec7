/**
 * @module renderer/options
 * Option lists for selects: mail classes, media, printers (with "Save PDF only").
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

export function printerOptions(printers: readonly PrinterInfo[]) {
  return [
    { value: PDF_ONLY, label: 'Save PDF only (no printer)' },
    ...printers.map((p) => ({
      value: p.name,
      label: p.isDefault ? `${p.name} (default)` : p.name,
    })),
  ];
}

export function toPrinter(value: string): string | null {
  return value === PDF_ONLY ? null : value;
}
