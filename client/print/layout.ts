/**
 * @module print/layout
 * Where things go on one piece (a slot of a medium), in points from the slot's top left. Follows
 * the USPS IBI placement (DMM 604.4.3.3): the indicium in the upper right, with a ½-inch clear
 * zone to its left and below it that nothing else enters. Pure geometry, so tests can check it.
 */
import { MODULE_PT, QUIET_ZONE_MODULES, SYMBOL_MODULES } from './datamatrix';
import { inches, type Medium, type Slot } from './media';

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface PieceLayout {
  /** The Data Matrix itself (without quiet zone). */
  symbol: Box;
  /** Human-readable block: US POSTAGE, amount, date, origin ZIP, device ID, class. */
  humanReadable: Box;
  /** Symbol, quiet zone and human-readable block together. */
  indicium: Box;
  /** The indicium plus the clear zone to its left and below (kept empty). */
  clearZone: Box;
  returnAddress: Box;
  recipient: Box;
  /** "SAMPLE — NOT VALID POSTAGE" banner, drawn only on demo pieces. */
  sampleBanner: Box;
}

export const EDGE_MARGIN = inches(0.25);
export const CLEAR_ZONE = inches(0.5);
export const HUMAN_READABLE_WIDTH = inches(1.55);
export const HUMAN_READABLE_GAP = 8;

/** Computes the layout of one piece in a slot of the given size, for an envelope or a label. */
export function layoutPiece(medium: Medium, slot: Slot): PieceLayout {
  const symbolSize = SYMBOL_MODULES * MODULE_PT;
  const quiet = QUIET_ZONE_MODULES * MODULE_PT;
  const symbol: Box = {
    x: slot.width - EDGE_MARGIN - symbolSize,
    y: EDGE_MARGIN,
    width: symbolSize,
    height: symbolSize,
  };
  const humanReadable: Box = {
    x: symbol.x - quiet - HUMAN_READABLE_GAP - HUMAN_READABLE_WIDTH,
    y: symbol.y,
    width: HUMAN_READABLE_WIDTH,
    height: symbolSize,
  };
  const indicium: Box = {
    x: humanReadable.x,
    y: symbol.y - quiet,
    width: symbol.x + symbolSize + quiet - humanReadable.x,
    height: symbolSize + 2 * quiet,
  };
  const clearZone: Box = {
    x: indicium.x - CLEAR_ZONE,
    y: 0,
    width: slot.width - (indicium.x - CLEAR_ZONE),
    height: indicium.y + indicium.height + CLEAR_ZONE,
  };
  const below = clearZone.y + clearZone.height;
  const bannerHeight = 22;
  const sampleBanner: Box = {
    x: EDGE_MARGIN,
    y: slot.height - EDGE_MARGIN - bannerHeight,
    width: slot.width - 2 * EDGE_MARGIN,
    height: bannerHeight,
  };
  if (medium.kind === 'envelope') {
    // Return address in the upper left, stopping where the clear zone begins; the recipient block
    // in the lower middle of the face, below the clear zone.
    const returnAddress: Box = {
      x: EDGE_MARGIN,
      y: EDGE_MARGIN,
      width: clearZone.x - EDGE_MARGIN - 4,
      height: below - EDGE_MARGIN - CLEAR_ZONE,
    };
    const recipientX = Math.max(slot.width * 0.38, EDGE_MARGIN);
    const recipientY = Math.max(below, slot.height * 0.42);
    const recipient: Box = {
      x: recipientX,
      y: recipientY,
      width: slot.width - recipientX - EDGE_MARGIN,
      height: sampleBanner.y - recipientY - 4,
    };
    return { symbol, humanReadable, indicium, clearZone, returnAddress, recipient, sampleBanner };
  }
  // Labels: narrow, so the return address goes below the clear zone and the recipient below it.
  const returnAddress: Box = {
    x: EDGE_MARGIN,
    y: below,
    width: slot.width - 2 * EDGE_MARGIN,
    height: inches(0.9),
  };
  const recipientY = returnAddress.y + returnAddress.height + inches(0.3);
  const recipient: Box = {
    x: EDGE_MARGIN + inches(0.25),
    y: recipientY,
    width: slot.width - 2 * EDGE_MARGIN - inches(0.25),
    height: sampleBanner.y - recipientY - 4,
  };
  return { symbol, humanReadable, indicium, clearZone, returnAddress, recipient, sampleBanner };
}
