/**
 * Pixel preparation on plain Float32Arrays (height × width × channels,
 * row-major): channel conversion, bilinear resizing, value scaling and
 * per-channel standardisation. What the image readers apply to each decoded
 * image, what a model records (`ImagePreprocessing`) so that prediction on new
 * files applies the same. Browser-safe.
 */
import { MultilossError } from '../../errors.js';

/**
 * The range raw 8-bit pixels are mapped to: `unit` v/255 in [0, 1];
 * `symmetric` v/127.5 − 1 in [−1, 1]; `standardize` [0, 1] on reading, then
 * (v − mean)/std per channel with the mean and standard deviation of the
 * training images, applied by the model (fitted in `fitImageModel`, saved with it).
 */
export type PixelScale = 'unit' | 'symmetric' | 'standardize';

export const PIXEL_SCALES: readonly PixelScale[] = ['unit', 'symmetric', 'standardize'];

/** How the values of an ImageSet were made from the files (what a reader applied). */
export interface PixelFormat {
  /** 1: grey (luminance 0.299 R + 0.587 G + 0.114 B); 3: RGB. */
  channels: 1 | 3;
  /** [height, width] every image was resized to; absent: the files' own size. */
  size?: [number, number];
  scale: PixelScale;
}

/** What a trained image model applies to pixels (saved in multiloss.json as `images`). */
export interface ImagePreprocessing extends PixelFormat {
  /** With scale `standardize`: per-channel mean and standard deviation of the training images (values in [0, 1]). */
  mean?: number[];
  std?: number[];
}

/** Checks reader options; returns the format they describe. `where` names the options in messages. */
export function pixelFormat(options: { channels?: number; size?: readonly number[]; scale?: string }, where: string, defaultChannels: 1 | 3): PixelFormat {
  const channels = options.channels ?? defaultChannels;
  if (channels !== 1 && channels !== 3) throw new MultilossError('config', `${where}.channels: expected 1 or 3, got ${String(channels)}`);
  const scale = (options.scale ?? 'unit') as PixelScale;
  if (!PIXEL_SCALES.includes(scale)) throw new MultilossError('config', `${where}.scale: expected one of ${PIXEL_SCALES.join(', ')}, got ${JSON.stringify(options.scale)}`);
  const size = options.size;
  if (size !== undefined) {
    if (!Array.isArray(size) || size.length !== 2 || !size.every((d) => Number.isInteger(d) && d >= 1)) {
      throw new MultilossError('config', `${where}.size: expected [height, width], two whole numbers ≥ 1, got ${JSON.stringify(size)}`);
    }
    return { channels, size: [size[0], size[1]], scale };
  }
  return { channels, scale };
}

/**
 * Bilinear resize of one H×W×C image to `to` = [height, width]. Half-pixel
 * centres (align_corners false): output pixel (y, x) samples the source at
 * ((y + ½)·H/h − ½, (x + ½)·W/w − ½), clamped to the edges — the same as
 * tfjs's `tf.image.resizeBilinear(image, size, false, true)`. No
 * antialiasing: a large reduction skips source pixels.
 */
export function resizeBilinear(src: Float32Array, from: readonly [number, number, number], to: readonly [number, number]): Float32Array {
  const [H, W, C] = from;
  const [h, w] = to;
  if (src.length !== H * W * C) throw new MultilossError('data', `resizeBilinear: ${src.length} values for an image of ${H}×${W}×${C}`);
  if (H === h && W === w) return Float32Array.from(src);
  const out = new Float32Array(h * w * C);
  const sy = H / h;
  const sx = W / w;
  // The horizontal taps are the same for every row: computed once.
  const x0s = new Int32Array(w);
  const x1s = new Int32Array(w);
  const fxs = new Float64Array(w);
  for (let x = 0; x < w; x++) {
    const s = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), W - 1);
    x0s[x] = Math.floor(s);
    x1s[x] = Math.min(x0s[x] + 1, W - 1);
    fxs[x] = s - x0s[x];
  }
  for (let y = 0; y < h; y++) {
    const s = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), H - 1);
    const y0 = Math.floor(s);
    const y1 = Math.min(y0 + 1, H - 1);
    const fy = s - y0;
    for (let x = 0; x < w; x++) {
      const fx = fxs[x];
      const a = (y0 * W + x0s[x]) * C;
      const b = (y0 * W + x1s[x]) * C;
      const c = (y1 * W + x0s[x]) * C;
      const d = (y1 * W + x1s[x]) * C;
      const o = (y * w + x) * C;
      for (let k = 0; k < C; k++) {
        const top = src[a + k] * (1 - fx) + src[b + k] * fx;
        const bottom = src[c + k] * (1 - fx) + src[d + k] * fx;
        out[o + k] = top * (1 - fy) + bottom * fy;
      }
    }
  }
  return out;
}

/**
 * One decoded RGBA image (8-bit) as H×W×`format.channels` values, resized to
 * `format.size` when set and scaled (`unit` and `standardize`: [0, 1];
 * `symmetric`: [−1, 1]). Alpha is dropped.
 */
export function pixelsFromRgba(rgba: Uint8Array, height: number, width: number, format: PixelFormat): Float32Array {
  const channels = format.channels;
  const pixels = height * width;
  const x = new Float32Array(pixels * channels);
  for (let p = 0; p < pixels; p++) {
    const r = rgba[4 * p] / 255;
    const g = rgba[4 * p + 1] / 255;
    const b = rgba[4 * p + 2] / 255;
    if (channels === 1) x[p] = 0.299 * r + 0.587 * g + 0.114 * b;
    else {
      x[3 * p] = r;
      x[3 * p + 1] = g;
      x[3 * p + 2] = b;
    }
  }
  return finishPixels(x, [height, width, channels], format);
}

/**
 * Values in [0, 1] of one H×W×C image (C already `format.channels`), resized
 * and scaled as `format` says. May return `x` itself (changed in place).
 */
export function finishPixels(x: Float32Array, shape: readonly [number, number, number], format: PixelFormat): Float32Array {
  const out = format.size && (format.size[0] !== shape[0] || format.size[1] !== shape[1]) ? resizeBilinear(x, shape, format.size) : x;
  if (format.scale === 'symmetric') for (let i = 0; i < out.length; i++) out[i] = out[i] * 2 - 1;
  return out;
}

/**
 * Converts n images of `from` channels (1 or 3) to `to` channels: grey to RGB
 * repeats the value; RGB to grey is the luminance 0.299 R + 0.587 G + 0.114 B.
 */
export function convertChannels(x: Float32Array, n: number, pixels: number, from: number, to: 1 | 3): Float32Array {
  if (from === to) return x;
  if (from !== 1 && from !== 3) throw new MultilossError('data', `images have ${from} channels; only 1 (grey) and 3 (RGB) can be converted`);
  const out = new Float32Array(n * pixels * to);
  for (let p = 0; p < n * pixels; p++) {
    if (to === 3) out.fill(x[p], 3 * p, 3 * p + 3);
    else out[p] = 0.299 * x[3 * p] + 0.587 * x[3 * p + 1] + 0.114 * x[3 * p + 2];
  }
  return out;
}

/** Running per-channel mean and standard deviation over images (Chan et al.'s parallel update: exact over any batching). */
export class ChannelStats {
  private count = 0;
  private readonly mean: Float64Array;
  private readonly m2: Float64Array;
  constructor(private readonly channels: number) {
    this.mean = new Float64Array(channels);
    this.m2 = new Float64Array(channels);
  }

  /** Adds images (any number, H×W×C each, channels last). */
  add(x: Float32Array): void {
    const C = this.channels;
    const m = x.length / C;
    if (m === 0) return;
    for (let k = 0; k < C; k++) {
      let sum = 0;
      for (let i = k; i < x.length; i += C) sum += x[i];
      const bm = sum / m;
      let bm2 = 0;
      for (let i = k; i < x.length; i += C) bm2 += (x[i] - bm) ** 2;
      const n = this.count + m;
      const d = bm - this.mean[k];
      this.mean[k] += (d * m) / n;
      this.m2[k] += bm2 + (d * d * this.count * m) / n;
    }
    this.count += m;
  }

  /** Mean and (population) standard deviation per channel; a constant channel gets std 1. */
  result(): { mean: number[]; std: number[] } {
    const mean = Array.from(this.mean);
    const std = Array.from(this.m2, (v) => {
      const s = Math.sqrt(v / Math.max(1, this.count));
      return s > 1e-12 && Number.isFinite(s) ? s : 1;
    });
    return { mean, std };
  }
}

/** (v − mean[c]) / std[c] for every value of channel c, into a new array. */
export function standardizePixels(x: Float32Array, channels: number, mean: readonly number[], std: readonly number[]): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const c = i % channels;
    out[i] = (x[i] - mean[c]) / std[c];
  }
  return out;
}
