/**
 * pdfkit's private objects the renderer relies on (client/print/pdfkit-internals.ts, the only
 * module that touches them) still have the shapes it expects, and pdfkit is pinned exactly: an
 * upgrade that changes one fails here, by name, before any PDF comes out wrong.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import PDFDocument from 'pdfkit';
import { describe, expect, it } from 'vitest';
import {
  checkPdfkitInternals,
  contentStream,
  currentPage,
  pageTree,
} from '../../../client/print/pdfkit-internals';

const ROOT = join(import.meta.dirname, '../../..');

describe("pdfkit's internals", () => {
  it('are pinned: package.json names one exact version, and it is the one installed', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    expect(pkg.dependencies.pdfkit).toBe('0.20.2');
    const installed = JSON.parse(
      await readFile(join(ROOT, 'node_modules', 'pdfkit', 'package.json'), 'utf8'),
    ) as { version: string };
    expect(installed.version).toBe(pkg.dependencies.pdfkit);
  });

  it('have every shape the renderer uses (fonts, page, page tree, content stream)', () => {
    expect(checkPdfkitInternals()).toEqual([]);
  });

  it('are reported by name when one changes', () => {
    const doc = new PDFDocument({ autoFirstPage: false, compress: false });
    doc.addPage();
    // An uncompressed stream is not what the fast compression expects: it is left to pdfkit.
    expect(contentStream(currentPage(doc))).toBeUndefined();
    expect(pageTree(doc).Kids).toContain(currentPage(doc).dictionary);
    doc.end();
  });
});
