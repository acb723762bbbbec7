/**
 * @module renderer/components/print-setup-fields
 * The medium and printer choice, as the new-piece, batch and history screens all offer it.
 */
import type { Media } from '../../shared/domain';
import { MEDIA_OPTIONS, printerOptions } from '../options';
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
        options={printerOptions(setup.printers)}
      />
    </>
  );
}
