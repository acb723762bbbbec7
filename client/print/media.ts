/**
 * @module print/media
 * The media the local print driver knows (part of the patent's "local print driver"): envelopes
 * printed on their face (landscape), a 4×6 thermal label, and a letter sheet carrying two 4×6
 * labels. Sizes are exact, in PDF points (1/72 in); each medium lists the slots where a piece is
 * drawn on one page and the CUPS media name and orientation a job is sent with.
 */
import { isMedia, MEDIA_NAMES, type Media } from '../../shared/atoms';
import { PrintError } from './errors';

export const POINTS_PER_INCH = 72;
export const MM_PER_INCH = 25.4;

export const inches = (value: number): number => value * POINTS_PER_INCH;
export const mm = (value: number): number => (value * POINTS_PER_INCH) / MM_PER_INCH;

export type MediumKind = 'envelope' | 'label' | 'sheet';
export type Orientation = 'portrait' | 'landscape';

/** Where one piece is drawn on a page, in points from the page's top left corner. */
export interface Slot {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Medium {
  id: MediumId;
  /** Name for people. */
  label: string;
  kind: MediumKind;
  /** Page width in points, as printed (landscape envelopes are wider than tall). */
  width: number;
  /** Page height in points. */
  height: number;
  orientation: Orientation;
  /** One slot per piece on a page: an envelope or roll label has one, the 2-up sheet two. */
  slots: readonly Slot[];
  /** PWG self-describing media name for `lp -o media=...`; CUPS maps it to the driver's size. */
  cupsMedia: string;
}

/** The media ids, defined once with their labels in shared/domain.ts (the IPC edge checks them too). */
export const MEDIUM_IDS: readonly Media[] = MEDIA_NAMES;
export type MediumId = Media;

function envelope(
  id: MediumId,
  label: string,
  width: number,
  height: number,
  cupsMedia: string,
): Medium {
  return {
    id,
    label,
    kind: 'envelope',
    width,
    height,
    orientation: 'landscape',
    slots: [{ x: 0, y: 0, width, height }],
    cupsMedia,
  };
}

const LABEL_W = inches(4);
const LABEL_H = inches(6);

export const MEDIA: Readonly<Record<MediumId, Medium>> = {
  env10: envelope(
    'env10',
    'Envelope #10 (9.5 × 4.125 in)',
    inches(9.5),
    inches(4.125),
    'na_number-10_4.125x9.5in',
  ),
  env9: envelope(
    'env9',
    'Envelope #9 (8.875 × 3.875 in)',
    inches(8.875),
    inches(3.875),
    'na_number-9_3.875x8.875in',
  ),
  'env6-3-4': envelope(
    'env6-3-4',
    'Envelope #6¾ (6.5 × 3.625 in)',
    inches(6.5),
    inches(3.625),
    'na_personal_3.625x6.5in',
  ),
  env6x9: envelope('env6x9', 'Envelope 6 × 9 in', inches(9), inches(6), 'na_6x9_6x9in'),
  env9x12: envelope('env9x12', 'Envelope 9 × 12 in', inches(12), inches(9), 'na_9x12_9x12in'),
  c5: envelope('c5', 'Envelope C5 (229 × 162 mm)', mm(229), mm(162), 'iso_c5_162x229mm'),
  dl: envelope('dl', 'Envelope DL (220 × 110 mm)', mm(220), mm(110), 'iso_dl_110x220mm'),
  label4x6: {
    id: 'label4x6',
    label: 'Label 4 × 6 in (thermal roll)',
    kind: 'label',
    width: LABEL_W,
    height: LABEL_H,
    orientation: 'portrait',
    slots: [{ x: 0, y: 0, width: LABEL_W, height: LABEL_H }],
    cupsMedia: 'na_index-4x6_4x6in',
  },
  sheet2x4x6: {
    id: 'sheet2x4x6',
    label: 'Letter sheet, two 4 × 6 in labels',
    kind: 'sheet',
    width: inches(8.5),
    height: inches(11),
    orientation: 'portrait',
    slots: [
      { x: inches(0.25), y: inches(0.5), width: LABEL_W, height: LABEL_H },
      { x: inches(4.25), y: inches(0.5), width: LABEL_W, height: LABEL_H },
    ],
    cupsMedia: 'na_letter_8.5x11in',
  },
};

export function isMediumId(value: string): value is MediumId {
  return isMedia(value);
}

/** The medium with this id; the error lists the ids that exist. */
export function mediumById(id: string): Medium {
  if (!isMediumId(id)) {
    throw new PrintError(
      'PRINT_UNKNOWN_MEDIUM',
      `medium "${id}": unknown; use one of ${MEDIUM_IDS.join(', ')}`,
    );
  }
  return MEDIA[id];
}
