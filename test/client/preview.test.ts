/**
 * The app's live preview (client/services/preview.ts) shows what the print will: the return
 * address from the settings where the print puts it (upper left, clear of the indicium), the
 * recipient, and the SAMPLE marking.
 */
import { describe, expect, it } from 'vitest';
import { layoutPiece, mediumById } from '../../client/print/index';
import { previewSvg } from '../../client/services/preview';

const recipient = {
  name: 'Ada Lovelace',
  street: '12 St James Sq',
  city: 'New York',
  state: 'NY',
  zip: '10001',
};
const from = {
  name: 'Small Office',
  street: '1 Market St',
  city: 'San Francisco',
  state: 'CA',
  zip: '94105',
};

/** Each text element's x, y and content. */
function texts(svg: string): { x: number; y: number; text: string }[] {
  return [...svg.matchAll(/<text x="([\d.]+)" y="([\d.]+)"[^>]*>([^<]*)<\/text>/g)].map((m) => ({
    x: Number(m[1]),
    y: Number(m[2]),
    text: m[3] as string,
  }));
}

describe('the piece preview', () => {
  const base = {
    recipient,
    postageCents: 78,
    mailClass: 'first-class' as const,
    media: 'env10' as const,
    originZip: '94105',
    deviceId: 'VPM000000001',
  };

  it('shows the return address in the upper left, clear of the indicium and above the recipient', () => {
    const svg = previewSvg({ ...base, returnAddress: from });
    const all = texts(svg);
    const lines = ['SMALL OFFICE', '1 MARKET ST', 'SAN FRANCISCO CA 94105'];
    const shown = lines.map((l) => all.find((t) => t.text === l));
    expect(shown.every(Boolean)).toBe(true);
    const medium = mediumById('env10');
    const layout = layoutPiece(medium, medium.slots[0]!);
    const recipientTop = Math.min(...all.filter((t) => t.text === 'ADA LOVELACE').map((t) => t.y));
    for (const t of shown) {
      expect(t!.x).toBeLessThan(layout.clearZone.x);
      expect(t!.y).toBeLessThan(recipientTop);
    }
    expect(all.some((t) => t.text.startsWith('SAMPLE'))).toBe(true);
  });

  it('shows no return address when none is set, and none for an incomplete one', () => {
    for (const returnAddress of [undefined, { ...from, street: '' }]) {
      const svg = previewSvg({ ...base, ...(returnAddress ? { returnAddress } : {}) });
      expect(svg).not.toContain('SMALL OFFICE');
      expect(svg).toContain('ADA LOVELACE');
    }
  });
});
