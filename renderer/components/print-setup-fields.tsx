/**
 * @module renderer/components/print-setup-fields
 * The medium, printer, output format and thermal-printer resolution, as the new-piece, batch and
 * history screens all offer them.
 */
import type { Media } from '../../shared/domain';
import { dpiOptions, FORMAT_OPTIONS, MEDIA_OPTIONS, NO_DPI, printerOptions } from '../options';
import type { usePrintSetup } from '../use-print-setup';
import { SelectField } from './fields';

export function PrintSetupFields({
  idPrefix,
  setup,
  labels = { media: 'Medium', printer: 'Printer' },
  className,
}: {
  idPrefix: string;
  setup: ReturnType<typeof usePrintSetup>;
  labels?: { media: string; printer: string };
  className?: string;
}) {
  return (
    <>
      <SelectField
        id={`${idPrefix}-media`}
        className={className}
        label={labels.media}
        value={setup.media}
        onValue={(v) => setup.setMedia(v as Media)}
        options={MEDIA_OPTIONS}
      />
      <SelectField
        id={`${idPrefix}-printer`}
        className={className}
        label={labels.printer}
        value={setup.printer}
        onValue={setup.setPrinter}
        options={printerOptions(setup.printers, setup.format)}
      />
      <SelectField
        id={`${idPrefix}-format`}
        className={className}
        label="Output"
        hint={
          setup.format === 'zpl'
            ? 'Sent raw to the printer queue, or saved as a .zpl file.'
            : 'Printed through the queue, or saved as a PDF file.'
        }
        value={setup.format}
        onValue={(v) => setup.setFormat(v === 'zpl' ? 'zpl' : 'pdf')}
        options={FORMAT_OPTIONS}
      />
      <SelectField
        id={`${idPrefix}-dpi`}
        className={className}
        label="Resolution (dpi)"
        hint="A thermal printer's dots per inch: barcodes are laid on its dot grid."
        value={setup.dpi === null ? NO_DPI : String(setup.dpi)}
        onValue={(v) => setup.setDpi(v === '203' ? 203 : v === '300' ? 300 : null)}
        options={dpiOptions(setup.format)}
      />
    </>
  );
}
