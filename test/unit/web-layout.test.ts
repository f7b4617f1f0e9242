/** The meeting room's layout maths (web/src/lib/layout.ts): gallery grid fitting, paging, the featured tile. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  featuredId,
  featuredRect,
  fitGrid,
  galleryLayout,
  gridRects,
  MAX_TILES_PER_PAGE,
  overlaps,
  TILE_ASPECT,
  tilesPerPage,
  type Rect,
} from "../../web/src/lib/layout";

const inside = (r: Rect, w: number, h: number) => r.x >= 0 && r.y >= 0 && r.x + r.width <= w && r.y + r.height <= h;

describe("fitGrid", () => {
  it("puts five tiles in 3 × 2 on a laptop stage, and in one column on a phone", () => {
    // 1366 × 860 less the top bar and the control bar.
    expect(fitGrid(5, 1334, 700)).toMatchObject({ cols: 3, rows: 2 });
    const phone = fitGrid(5, 374, 660);
    expect(phone.cols).toBe(1);
    expect(phone.tileWidth).toBeGreaterThanOrEqual(200);
  });

  it("gives one tile the whole width when the area is wide enough, keeping 16:9", () => {
    const f = fitGrid(1, 1280, 900);
    expect(f).toEqual({ cols: 1, rows: 1, tileWidth: 1280, tileHeight: 720 });
  });

  it("is empty for no tiles or no room", () => {
    expect(fitGrid(0, 800, 600).cols).toBe(0);
    expect(fitGrid(3, 0, 600).tileWidth).toBe(0);
  });

  it("every tile fits, none overlaps, rows × cols hold them all (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 49 }),
        fc.integer({ min: 40, max: 4000 }),
        fc.integer({ min: 40, max: 3000 }),
        fc.integer({ min: 0, max: 16 }),
        (n, w, h, gap) => {
          const fit = fitGrid(n, w, h, { gap });
          if (fit.tileWidth === 0) return; // nothing fits at all (tiny area with big gaps)
          expect(fit.cols * fit.rows).toBeGreaterThanOrEqual(n);
          expect(fit.cols * fit.tileWidth + (fit.cols - 1) * gap).toBeLessThanOrEqual(w);
          expect(fit.rows * fit.tileHeight + (fit.rows - 1) * gap).toBeLessThanOrEqual(h);
          // 16:9 within a pixel of rounding.
          expect(Math.abs(fit.tileWidth / TILE_ASPECT - fit.tileHeight)).toBeLessThan(1);
          const rects = gridRects(n, fit, w, h, gap);
          expect(rects).toHaveLength(n);
          const outside = rects.filter((r) => !inside(r, w, h));
          expect(outside, JSON.stringify({ w, h })).toEqual([]);
          let overlapping = 0;
          for (let i = 0; i < rects.length; i++) for (let j = i + 1; j < rects.length; j++) if (overlaps(rects[i], rects[j])) overlapping++;
          expect(overlapping).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("is the best grid: no other column count gives a wider tile (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 100, max: 3000 }), fc.integer({ min: 100, max: 2000 }), (n, w, h) => {
        const fit = fitGrid(n, w, h);
        for (let cols = 1; cols <= n; cols++) {
          const rows = Math.ceil(n / cols);
          const other = Math.floor(Math.min((w - 8 * (cols - 1)) / cols, ((h - 8 * (rows - 1)) / rows) * TILE_ASPECT));
          expect(other).toBeLessThanOrEqual(fit.tileWidth);
        }
      }),
    );
  });

  it("never gives bigger tiles to more people (property: the tile width does not grow with the count)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 48 }), fc.integer({ min: 100, max: 3000 }), fc.integer({ min: 100, max: 2000 }), (n, w, h) => {
        expect(fitGrid(n + 1, w, h).tileWidth).toBeLessThanOrEqual(fitGrid(n, w, h).tileWidth);
      }),
    );
  });
});

describe("paging", () => {
  it("holds at most 25 tiles a page on a big screen, so 30 people make two pages", () => {
    expect(tilesPerPage(2560, 1300)).toBe(MAX_TILES_PER_PAGE);
    const g = galleryLayout(30, 2560, 1300, 0);
    expect(g).toMatchObject({ perPage: 25, pages: 2, page: 0, start: 0, end: 25 });
    const second = galleryLayout(30, 2560, 1300, 1);
    expect(second).toMatchObject({ start: 25, end: 30 });
    expect(second.rects).toHaveLength(5);
  });

  it("pages sooner on a phone, where tiles would get too small", () => {
    const perPage = tilesPerPage(374, 660, { minTileWidth: 160 });
    expect(perPage).toBeLessThan(MAX_TILES_PER_PAGE);
    expect(fitGrid(perPage, 374, 660).tileWidth).toBeGreaterThanOrEqual(160);
    expect(fitGrid(perPage + 1, 374, 660).tileWidth).toBeLessThan(160);
  });

  it("clamps a page past the end (someone left) to the last page", () => {
    expect(galleryLayout(3, 1200, 700, 5).page).toBe(0);
  });

  it("every tile of every page fits and is at least the minimum size, or a page holds a single tile (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 120 }),
        fc.integer({ min: 120, max: 3000 }),
        fc.integer({ min: 120, max: 2000 }),
        fc.integer({ min: 80, max: 320 }),
        fc.integer({ min: 1, max: 49 }),
        (n, w, h, minTileWidth, maxPerPage) => {
          const first = galleryLayout(n, w, h, 0, { minTileWidth, maxPerPage });
          expect(first.perPage).toBeLessThanOrEqual(maxPerPage);
          expect(first.pages).toBe(Math.max(1, Math.ceil(n / first.perPage)));
          let shown = 0;
          for (let p = 0; p < first.pages; p++) {
            const g = galleryLayout(n, w, h, p, { minTileWidth, maxPerPage });
            expect(g.start).toBe(shown);
            shown = g.end;
            expect(g.rects.every((r) => inside(r, w, h))).toBe(true);
            if (g.end - g.start > 1) expect(g.fit.tileWidth).toBeGreaterThanOrEqual(minTileWidth);
          }
          expect(shown).toBe(n);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("speaker view", () => {
  it("features the biggest centred 16:9 rectangle", () => {
    expect(featuredRect(1000, 400)).toEqual({ x: 144, y: 0, width: 711, height: 399 });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4000 }), fc.integer({ min: 1, max: 3000 }), (w, h) => {
        expect(inside(featuredRect(w, h), w, h)).toBe(true);
      }),
    );
  });

  it("features a spotlight, then a pin, then a screen share, then the speaker, then the last speaker, then the first person", () => {
    const base = { spotlight: null, pinned: null, sharing: [] as string[], dominant: null, lastDominant: null, remoteIds: ["a", "b", "c", "d"] };
    expect(featuredId(base)).toBe("a");
    expect(featuredId({ ...base, lastDominant: "b" })).toBe("b");
    expect(featuredId({ ...base, lastDominant: "b", dominant: "c" })).toBe("c");
    expect(featuredId({ ...base, dominant: "c", sharing: ["d"] })).toBe("d");
    expect(featuredId({ ...base, sharing: ["d"], pinned: "b" })).toBe("b");
    expect(featuredId({ ...base, pinned: "b", spotlight: "c" })).toBe("c");
    // Someone who left is not featured.
    expect(featuredId({ ...base, pinned: "zz" })).toBe("a");
    expect(featuredId({ ...base, remoteIds: [] })).toBeNull();
  });
});
