/**
 * @module renderer/use-print-setup
 * Loads the printers and the default printer and medium from the settings, for the screens
 * that print, and holds the output format (PDF, or ZPL for a thermal printer) and the thermal
 * printer's resolution. Choosing ZPL picks the 4 × 6 label and 203 dpi unless a resolution is set.
 */
import { useEffect, useState } from 'react';
import type { PrinterInfo } from '../shared/ipc';
import type { Media } from '../shared/domain';
import { PDF_ONLY } from './options';
import { call } from './vpm';

export function usePrintSetup() {
  const [printers, setPrinters] = useState<PrinterInfo[]>([]);
  const [printer, setPrinter] = useState<string>(PDF_ONLY);
  const [media, setMedia] = useState<Media>('env10');
  const [error, setError] = useState<string | null>(null);
  const [format, setFormatState] = useState<'pdf' | 'zpl'>('pdf');
  const [dpi, setDpi] = useState<203 | 300 | null>(null);

  const setFormat = (next: 'pdf' | 'zpl') => {
    setFormatState(next);
    if (next === 'zpl') {
      setMedia('label4x6'); // ZPL prints on 4 × 6 label rolls only
      setDpi((d) => d ?? 203);
    }
  };

  useEffect(() => {
    let live = true;
    void Promise.all([call('printers:list', {}), call('settings:get', {})]).then(([p, s]) => {
      if (!live) return;
      const list = p.ok ? p.value : [];
      if (!p.ok) setError(`Printers could not be listed: ${p.error.message}`);
      setPrinters(list);
      if (s.ok) {
        setMedia(s.value.defaultMedia);
        const wanted = s.value.defaultPrinter;
        if (wanted !== null && list.some((x) => x.name === wanted)) setPrinter(wanted);
      }
    });
    return () => {
      live = false;
    };
  }, []);

  return { printers, printer, setPrinter, media, setMedia, format, setFormat, dpi, setDpi, error };
}
