/**
 * Seeded image augmentations on batches of H×W×C images (Float32Array,
 * row-major, channels last): random shift (the "pad and random crop" of
 * CIFAR training) and horizontal flip. Pure functions of the pixels and a
 * generator; training applies them to its batches only (never to
 * validation, evaluation or prediction), with a generator derived from
 * (seed, epoch, batch) so that a run, and a resumed run, draws the same.
 * Browser-safe.
 */
import { MultilossError } from '../../errors.js';
import { Rng } from '../../util/rng.js';

export interface AugmentOptions {
  /**
   * Random shift: each image moves by dy, dx drawn uniformly from −shift…shift
   * pixels; pixels moved in are `fill` — the same as padding by `shift` and
   * cropping the original size at a random place. 0 or absent: off.
   */
  shift?: number;
  /** Mirror each image left–right with probability ½. */
  flip?: boolean;
  /** Value of the pixels moved in, per channel (or one for all); default 0 (fitImageModel passes a black pixel's value). */
  fill?: number[];
}

/** Throws a one-line error for bad options; true when they change anything. */
export function checkAugment(options: AugmentOptions | undefined, where = 'augment'): boolean {
  if (!options) return false;
  const shift = options.shift ?? 0;
  if (!Number.isInteger(shift) || shift < 0) throw new MultilossError('config', `${where}.shift: expected a whole number of pixels ≥ 0, got ${String(options.shift)}`);
  if (options.flip !== undefined && typeof options.flip !== 'boolean') throw new MultilossError('config', `${where}.flip: expected true or false, got ${JSON.stringify(options.flip)}`);
  if (options.fill !== undefined && !(Array.isArray(options.fill) && options.fill.every((v) => Number.isFinite(v)))) {
    throw new MultilossError('config', `${where}.fill: expected an array of numbers (one per channel), got ${JSON.stringify(options.fill)}`);
  }
  return shift > 0 || options.flip === true;
}

/** The generator of one training batch's augmentations: a function of the seed, epoch and batch alone. */
export function augmentationRng(seed: number | string, epoch: number, batch: number): Rng {
  return new Rng(`${seed}:augment:${epoch}:${batch}`);
}

/**
 * Augments `n` images of `shape` ([H, W, C]): for each image, in order, draws
 * dy and dx (when shift > 0) and the flip (when `flip`), in that order, from
 * `rng`. Returns a new array; `x` is not changed.
 */
export function augmentImages(x: Float32Array, n: number, shape: readonly [number, number, number], options: AugmentOptions, rng: Rng): Float32Array {
  checkAugment(options);
  const [H, W, C] = shape;
  const d = H * W * C;
  if (x.length !== n * d) throw new MultilossError('data', `augmentImages: ${x.length} values for ${n} images of ${H}×${W}×${C}`);
  const shift = options.shift ?? 0;
  const flip = options.flip === true;
  const fill = options.fill ?? [0];
  if (fill.length !== 1 && fill.length !== C) throw new MultilossError('config', `augment.fill: ${fill.length} values for images of ${C} channel(s)`);
  const fillAt = (k: number) => fill[fill.length === 1 ? 0 : k];
  const out = new Float32Array(x.length);
  for (let i = 0; i < n; i++) {
    const dy = shift > 0 ? rng.int(2 * shift + 1) - shift : 0;
    const dx = shift > 0 ? rng.int(2 * shift + 1) - shift : 0;
    const mirror = flip && rng.next() < 0.5;
    const base = i * d;
    for (let y = 0; y < H; y++) {
      const sy = y - dy;
      for (let xo = 0; xo < W; xo++) {
        // The shifted image, read mirrored: out(y, x) = shifted(y, W − 1 − x).
        const sx = (mirror ? W - 1 - xo : xo) - dx;
        const o = base + (y * W + xo) * C;
        if (sy < 0 || sy >= H || sx < 0 || sx >= W) {
          for (let k = 0; k < C; k++) out[o + k] = fillAt(k);
        } else {
          const s = base + (sy * W + sx) * C;
          for (let k = 0; k < C; k++) out[o + k] = x[s + k];
        }
      }
    }
  }
  return out;
}
