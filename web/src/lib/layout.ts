/**
 * Pure layout maths for the meeting room: how many rows and columns of 16:9 tiles fit a stage, where each tile goes,
 * how many tiles a page holds before paging kicks in, and the speaker view's featured tile. No DOM, no Solid:
 * unit-tested on Node (test/unit/web-layout.test.ts), rendered as absolute positions by components/room/Stage.tsx.
 */

export const TILE_ASPECT = 16 / 9;
/** A gallery page never holds more than this (Zoom shows 25 per page by default, 49 at most). */
export const MAX_TILES_PER_PAGE = 25;

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface GridFit {
  cols: number;
  rows: number;
  tileWidth: number;
  tileHeight: number;
}

export interface FitOptions {
  /** Width / height of a tile. */
  aspect?: number;
  /** Space between tiles, px. */
  gap?: number;
}

/**
 * The biggest tile size at which `count` tiles of the given aspect fit in width × height, with `gap` between them:
 * every column count from 1 to `count` is tried (rows follow), and the one giving the widest tile wins (fewer columns
 * on a tie). Sizes are whole pixels, rounded down so the grid never exceeds the area.
 */
export function fitGrid(count: number, width: number, height: number, opts: FitOptions = {}): GridFit {
  const aspect = opts.aspect ?? TILE_ASPECT;
  const gap = opts.gap ?? 8;
  if (count <= 0 || width <= 0 || height <= 0) return { cols: 0, rows: 0, tileWidth: 0, tileHeight: 0 };
  let best: GridFit = { cols: 1, rows: count, tileWidth: 0, tileHeight: 0 };
  for (let cols = 1; cols <= count; cols++) {
    const rows = Math.ceil(count / cols);
    // A column count that leaves a whole row empty is never better than cols - 1 with the same rows.
    if (cols > 1 && Math.ceil(count / (cols - 1)) === rows) continue;
    const byWidth = (width - gap * (cols - 1)) / cols;
    const byHeight = ((height - gap * (rows - 1)) / rows) * aspect;
    // Rounding both down keeps the grid inside the area.
    const w = Math.floor(Math.min(byWidth, byHeight));
    const h = Math.floor(w / aspect);
    if (w > 0 && h > 0 && w > best.tileWidth) best = { cols, rows, tileWidth: w, tileHeight: h };
  }
  return best;
}

/**
 * Tile rectangles for `count` tiles laid out by `fit`, centred in width × height; a last, shorter row is centred too
 * (the way Zoom and Meet place an odd tile).
 */
export function gridRects(count: number, fit: GridFit, width: number, height: number, gap = 8): Rect[] {
  if (count <= 0 || fit.cols === 0) return [];
  const rows = Math.ceil(count / fit.cols);
  const gridH = rows * fit.tileHeight + (rows - 1) * gap;
  const top = Math.max(0, Math.floor((height - gridH) / 2));
  const rects: Rect[] = [];
  for (let i = 0; i < count; i++) {
    const row = Math.floor(i / fit.cols);
    const inRow = row === rows - 1 ? count - row * fit.cols : fit.cols;
    const col = i - row * fit.cols;
    const rowW = inRow * fit.tileWidth + (inRow - 1) * gap;
    const left = Math.max(0, Math.floor((width - rowW) / 2));
    rects.push({ x: left + col * (fit.tileWidth + gap), y: top + row * (fit.tileHeight + gap), width: fit.tileWidth, height: fit.tileHeight });
  }
  return rects;
}

export interface PageOptions extends FitOptions {
  /** Tiles narrower than this are too small to see a face: paging starts instead. */
  minTileWidth?: number;
  maxPerPage?: number;
}

/**
 * How many tiles one page holds in width × height: as many as fit at `minTileWidth` or wider, at most `maxPerPage`,
 * and always at least one (a single tile is shown however small the area).
 */
export function tilesPerPage(width: number, height: number, opts: PageOptions = {}): number {
  const max = Math.max(1, opts.maxPerPage ?? MAX_TILES_PER_PAGE);
  const min = opts.minTileWidth ?? 160;
  // fitGrid's tile width never grows with the count, so the first count that is too small ends the search.
  let n = 1;
  while (n < max && fitGrid(n + 1, width, height, opts).tileWidth >= min) n++;
  return n;
}

export interface GalleryLayout {
  /** Tiles on one page. */
  perPage: number;
  pages: number;
  /** The page shown (clamped to the pages there are), 0-based. */
  page: number;
  /** Index range [start, end) of the tiles on this page. */
  start: number;
  end: number;
  fit: GridFit;
  rects: Rect[];
}

/** The gallery for `count` tiles on `page`: paging, grid fit and each tile's rectangle. */
export function galleryLayout(count: number, width: number, height: number, page: number, opts: PageOptions = {}): GalleryLayout {
  const gap = opts.gap ?? 8;
  const perPage = tilesPerPage(width, height, opts);
  const pages = Math.max(1, Math.ceil(count / perPage));
  const p = Math.min(Math.max(0, Math.floor(page)), pages - 1);
  const start = p * perPage;
  const end = Math.min(count, start + perPage);
  const fit = fitGrid(end - start, width, height, opts);
  return { perPage, pages, page: p, start, end, fit, rects: gridRects(end - start, fit, width, height, gap) };
}

/** The biggest 16:9 rectangle centred in width × height (the speaker view's featured tile). */
export function featuredRect(width: number, height: number, aspect = TILE_ASPECT): Rect {
  if (width <= 0 || height <= 0) return { x: 0, y: 0, width: 0, height: 0 };
  const w = Math.floor(Math.min(width, height * aspect));
  const h = Math.floor(w / aspect);
  return { x: Math.floor((width - w) / 2), y: Math.floor((height - h) / 2), width: w, height: h };
}

/** Two rectangles share some area (touching edges do not count). */
export function overlaps(a: Rect, b: Rect): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

/**
 * Which tile the speaker view features: a spotlight (staff, shown to me) before my pin, then someone sharing their
 * screen, then whoever speaks now, then whoever spoke last, then the first remote person; null when alone.
 */
export function featuredId(input: {
  spotlight: string | null;
  pinned: string | null;
  sharing: readonly string[];
  dominant: string | null;
  lastDominant: string | null;
  remoteIds: readonly string[];
}): string | null {
  const here = new Set(input.remoteIds);
  for (const id of [input.spotlight, input.pinned, input.sharing[0] ?? null, input.dominant, input.lastDominant]) if (id && here.has(id)) return id;
  return input.remoteIds[0] ?? null;
}
