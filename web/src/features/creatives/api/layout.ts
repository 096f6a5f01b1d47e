/** Grid geometry: a tile is 170 px wide plus a 12 px gap, inside 12 px padding. */
export const TILE_WIDTH = 170;
export const GAP = 12;
export const ROW_HEIGHT = 214;

/** How many tiles fit across `width` pixels (at least one). */
export function columnsFor(width: number): number {
  return Math.max(1, Math.floor((width - 2 * GAP + GAP) / (TILE_WIDTH + GAP)));
}

/** Width and height for an image of w×h shown within a `box`-pixel square. */
export function fitBox(w: number, h: number, box = 150): { width: number; height: number } {
  if (!(w > 0) || !(h > 0)) return { width: box, height: box };
  const s = Math.min(box / w, box / h, 1);
  return { width: Math.max(1, Math.round(w * s)), height: Math.max(1, Math.round(h * s)) };
}
