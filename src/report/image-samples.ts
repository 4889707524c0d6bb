/**
 * A grid of sample images for the training report: each image drawn as
 * inline SVG (one rectangle per run of equal pixels in a row; no raster
 * encoding, nothing fetched) with each head's prediction under it and the
 * truth when it is known. Browser-safe.
 */
import { escapeHtml } from './html.js';

/** One image of the grid: its pixels (H·W·C values in [0, 1], row-major), and one line per head. */
export interface ImageSample {
  pixels: Float32Array;
  /** [height, width, channels]: 1 (grey) or 3 (RGB); other channel counts draw their first channel. */
  shape: readonly [number, number, number];
  /** Caption above the predictions (a file name, a position). */
  name: string;
  heads: { head: string; predicted: string; truth?: string | null }[];
}

/** At most this many images in the grid. */
export const MAX_SAMPLES = 16;

const byte = (v: number): number => Math.max(0, Math.min(255, Math.round(v * 255)));
const hex = (v: number): string => byte(v).toString(16).padStart(2, '0');

/** The image as an SVG element `size` pixels on its longer side (crisp pixels). */
export function imageSvg(pixels: Float32Array, shape: readonly [number, number, number], size = 84): string {
  const [h, w, c] = shape;
  const colour = (y: number, x: number): string => {
    const i = (y * w + x) * c;
    const grey = hex(pixels[i]);
    return c === 3 ? `#${hex(pixels[i])}${hex(pixels[i + 1])}${hex(pixels[i + 2])}` : `#${grey}${grey}${grey}`;
  };
  const rects: string[] = [];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; ) {
      const fill = colour(y, x);
      let end = x + 1;
      while (end < w && colour(y, end) === fill) end++;
      rects.push(`<rect x="${x}" y="${y}" width="${end - x}" height="1" fill="${fill}"/>`);
      x = end;
    }
  }
  const scale = size / Math.max(h, w);
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${w} ${h}" width="${Math.round(w * scale)}" height="${Math.round(h * scale)}" shape-rendering="crispEdges" role="img">${rects.join('')}</svg>`;
}

/** The grid as HTML: one figure per image, each head's prediction (✓/✗ against the truth when known). */
export function sampleGridHtml(samples: readonly ImageSample[]): string {
  const figures = samples.map((s) => {
    const lines = s.heads.map((h) => {
      const known = h.truth !== undefined && h.truth !== null;
      const mark = known ? (h.truth === h.predicted ? ' class="right"' : ' class="wrong"') : '';
      return `<li${mark}><b>${escapeHtml(h.head)}</b> ${escapeHtml(h.predicted)}${known ? ` <span>(truth ${escapeHtml(h.truth as string)})</span>` : ''}</li>`;
    });
    return `<figure class="sample" data-sample="${escapeHtml(s.name)}">\n${imageSvg(s.pixels, s.shape)}\n<figcaption>${escapeHtml(s.name)}</figcaption>\n<ul>${lines.join('')}</ul>\n</figure>`;
  });
  return `<div class="samples">\n${figures.join('\n')}\n</div>`;
}
