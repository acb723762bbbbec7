/**
 * @module renderer/use-print-setup
 * Loads the printers and the default printer and medium from the settings, for the screens
 * that print.
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

  return { printers, printer, setPrinter, media, setMedia, error };
}
