/**
 * @module services/preview
 * The live preview of a piece for the app: an SVG of the medium with the recipient, the
 * human-readable block and a SAMPLE Data Matrix built from the same codec (unsigned: the
 * preview charges nothing and is never valid postage).
 */
import { assembleIndicium, encodePayload, SIGNATURE_LENGTH } from '../../shared/indicium/codec';
import type { MailClass } from '../../shared/mail-class';
import { MAIL_CLASSES } from '../../shared/mail-class';
import { formatDollars } from '../../shared/money';
import {
  addressLines,
  dataMatrixSvg,
  layoutPiece,
  mediumById,
  type Address,
  type MediumId,
} from '../print/index';

const esc = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function previewSvg(input: {
  recipient: Address;
  postageCents: number;
  mailClass: MailClass;
  media: MediumId;
  originZip: string;
  deviceId: string;
  /** The return address from the settings, where the print puts it (print/layout.ts). */
  returnAddress?: Address;
}): string {
  const medium = mediumById(input.media);
  const slot = medium.slots[0] ?? { x: 0, y: 0, width: medium.width, height: medium.height };
  const today = new Date().toISOString().slice(0, 10);
  const zip = /^\d{5}(\d{4})?$/.test(input.recipient.zip.replace('-', ''))
    ? input.recipient.zip.replace('-', '')
    : '00000';
  const payload = encodePayload({
    demo: true,
    mailClass: input.mailClass,
    certificateSerial: '0000000000000000',
    deviceId: /^[A-Z0-9]{12}$/.test(input.deviceId) ? input.deviceId : 'PREVIEW00000',
    ascendingCents: 0,
    postageCents: Math.max(1, input.postageCents),
    mailingDate: today,
    originZip: /^\d{5}$/.test(input.originZip) ? input.originZip : '00000',
    destinationZip: zip,
    softwareId: 'VPM1',
    descendingCents: 0,
    pieceId: '00000000-0000-8000-8000-000000000000',
  });
  const symbol = dataMatrixSvg(assembleIndicium(payload, new Uint8Array(SIGNATURE_LENGTH)), 1);
  const size = 72; // points: about one inch
  const sx = slot.x + slot.width - size - 18;
  const sy = slot.y + 18;
  const r = input.recipient;
  const lines = [r.name, r.street, r.street2 ?? '', `${r.city} ${r.state} ${r.zip}`]
    .filter((l) => l.trim() !== '')
    .map((l) => esc(l.toUpperCase()));
  const text = (x: number, y: number, size2: number, body: string, weight = 'normal') =>
    `<text x="${x}" y="${y}" font-family="Helvetica, Arial, sans-serif" font-size="${size2}" font-weight="${weight}">${body}</text>`;
  const hx = sx - 120;
  const returnBox = layoutPiece(medium, slot).returnAddress;
  let returnLines: string[] = [];
  try {
    returnLines = input.returnAddress ? addressLines(input.returnAddress, 'return address') : [];
  } catch {
    // an incomplete return address is refused at print time, with its reason; not previewed
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${medium.width} ${medium.height}" width="${medium.width}" height="${medium.height}">`,
    `<rect width="${medium.width}" height="${medium.height}" fill="#fff" stroke="#888"/>`,
    `<image x="${sx}" y="${sy}" width="${size}" height="${size}" href="data:image/svg+xml;base64,${btoa(symbol)}"/>`,
    text(hx, sy + 10, 9, 'US POSTAGE', 'bold'),
    text(hx, sy + 28, 16, esc(formatDollars(input.postageCents)), 'bold'),
    text(hx, sy + 40, 7, esc(MAIL_CLASSES[input.mailClass].label)),
    text(hx, sy + 50, 7, `Mailed ${today} from ZIP ${esc(input.originZip)}`),
    text(hx, sy + 60, 7, `Meter ${esc(input.deviceId)}`),
    text(hx, sy + 72, 7, 'SAMPLE — NOT VALID POSTAGE', 'bold'),
    ...returnLines.map((l, i) =>
      text(slot.x + returnBox.x, slot.y + returnBox.y + 8 + i * 10, 8, esc(l)),
    ),
    ...lines.map((l, i) =>
      text(slot.x + slot.width * 0.38, slot.y + slot.height * 0.5 + i * 14, 11, l),
    ),
    `</svg>`,
  ].join('');
}
