/**
 * Predictions of a model trained on images (`fitImageModel`, or separate
 * models from `fitSeparateImages`): the image shape is checked against the
 * model's H×W×C input first. Browser-safe.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ImageInputSpec } from '../config/resolve.js';
import { imageSize, isImageStream, type ImageSet, type ImageStream } from '../data/images/dataset.js';
import { standardizePixels, type PixelFormat } from '../data/images/pixels.js';
import { MultilossError } from '../errors.js';
import type { HeadPrediction } from './heads/index.js';
import type { MultiOutputModel } from './multi-output.js';
import type { MultilossModel, Prediction } from './multiloss-model.js';
import { isSeparateModels } from './separate-models.js';

/** The single networks of a model: itself, or each of separate models' sub-models. */
export function networksOf(model: MultiOutputModel | MultilossModel): readonly MultilossModel[] {
  const m = model as MultiOutputModel;
  return isSeparateModels(m) ? m.models : [model as MultilossModel];
}

/** The image shape a model takes ([H, W, C]; [k] for a tabular model); separate models' first sub-model's (they all take the same images). */
export function modelInputShape(model: MultiOutputModel | MultilossModel): number[] {
  return networksOf(model)[0].network.model.inputs[0].shape.slice(1) as number[];
}

/** How the model's training images were read (channels, file column, …; see ImageInputSpec), when it was trained from an image source. */
export function imageInputSpecOf(model: MultiOutputModel | MultilossModel): ImageInputSpec | undefined {
  return networksOf(model)[0].meta.config.images;
}

/** Whether a model takes images (an H×W×C input) rather than table rows. */
export function isImageModel(model: MultiOutputModel | MultilossModel): boolean {
  return modelInputShape(model).length === 3;
}

/** Throws a one-line error unless `shape` is the model's input shape. */
export function checkImageShape(model: MultiOutputModel | MultilossModel, shape: readonly number[], source: string): void {
  const want = modelInputShape(model);
  if (want.length !== 3) throw new MultilossError('data', `${source}: this model takes tabular rows of ${want.join('×')} features, not images`);
  if (shape.length === 3 && shape[0] === want[0] && shape[1] === want[1] && shape[2] === want[2]) return;
  const what = shape[0] === want[0] && shape[1] === want[1] ? `${shape[2]} channel(s); the model expects ${want[2]}` : `size ${shape[0]}×${shape[1]}; the model expects ${want[0]}×${want[1]}`;
  const hint = imageReadOptions(model) ? ` (read them with the model's reading options: ${JSON.stringify(imageReadOptions(model))})` : '';
  throw new MultilossError('data', `${source}: images of shape ${shape.join('×')} (height×width×channels) do not fit this model's input ${want.join('×')}: ${what}${hint}`);
}

/**
 * How to read new images for this model: the channels, size and scale its
 * training images were read with (pass them to `readImageFolder` or
 * `readIdxImages`). Undefined for a model trained on images without a
 * recorded format (an ImageSet built by hand).
 */
export function imageReadOptions(model: MultiOutputModel | MultilossModel): PixelFormat | undefined {
  // Separate models' sub-models were all read alike (their mean/std may differ: each network applies its own).
  const r = networksOf(model)[0].meta.images;
  if (!r) return undefined;
  return { channels: r.channels, ...(r.size ? { size: [r.size[0], r.size[1]] as [number, number] } : {}), scale: r.scale };
}

/** `unit` and `standardize` images hold [0, 1] values; `symmetric` ones [−1, 1]. */
const valueRange = (format: PixelFormat): string => (format.scale === 'symmetric' ? '[-1, 1] (scale symmetric)' : '[0, 1] (scale unit or standardize)');

/**
 * What the model does to the pixels of `images` before its network sees
 * them: checks their shape and recorded format against the model's, and
 * returns the transform of a batch of pixels (the training images'
 * per-channel standardisation, or the identity).
 */
export function modelPixelTransform(model: MultilossModel, images: Pick<ImageSet, 'shape' | 'source' | 'pixels'>): (x: Float32Array) => Float32Array {
  checkImageShape(model, images.shape, images.source);
  const recorded = model.meta.images;
  if (!recorded) return (x) => x;
  if (images.pixels && valueRange(images.pixels) !== valueRange(recorded)) {
    throw new MultilossError('data', `${images.source}: pixel values in ${valueRange(images.pixels)}, the model was trained on ${valueRange(recorded)}; read the images with scale "${recorded.scale}"`);
  }
  const { mean, std } = recorded;
  if (!mean || !std) return (x) => x;
  return (x) => standardizePixels(x, images.shape[2], mean, std);
}

/** Images to predict: in memory (an ImageSet) or loaded batch by batch (an ImageStream). */
export type ImagesToPredict = Pick<ImageSet, 'n' | 'shape' | 'x' | 'source' | 'pixels'> | Pick<ImageStream, 'n' | 'shape' | 'load' | 'source' | 'pixels'>;

/**
 * The saved network's outputs for a set of images, one n×units array per
 * head (in the model's head order; separate models' sub-models in turn).
 * Checks the image shape and format first; each network applies its own
 * pixel standardisation (see `modelPixelTransform`). A stream is loaded once
 * per batch for all networks.
 */
export function predictImageOutputs(model: MultiOutputModel | MultilossModel, images: ImagesToPredict, batchSize = 256): Float32Array[] {
  const networks = networksOf(model);
  checkImageShape(model, images.shape, images.source);
  const transforms = networks.map((m) => modelPixelTransform(m, images));
  const d = imageSize(images.shape);
  if (!isImageStream(images as ImageSet | ImageStream) && (images as ImageSet).x.length !== images.n * d) {
    throw new MultilossError('data', `${images.source}: ${(images as ImageSet).x.length} pixel values for ${images.n} images of ${images.shape.join('×')}`);
  }
  const heads = networks.flatMap((m) => m.heads);
  const outs = heads.map((h) => new Float32Array(images.n * h.units));
  for (let start = 0; start < images.n; start += batchSize) {
    const m = Math.min(batchSize, images.n - start);
    const x = isImageStream(images as ImageSet | ImageStream)
      ? (images as ImageStream).load(Array.from({ length: m }, (_, i) => start + i))
      : (images as ImageSet).x.subarray(start * d, (start + m) * d);
    let h = 0;
    networks.forEach((net, k) => {
      const results = tf.tidy(() => net.network.predict(tf.tensor4d(transforms[k](x), [m, ...images.shape])));
      results.forEach((t) => {
        outs[h].set(t.dataSync() as Float32Array, start * heads[h].units);
        t.dispose();
        h++;
      });
    });
  }
  return outs;
}

/** Decoded predictions of every head, one object per image. */
export function predictImages(model: MultiOutputModel | MultilossModel, images: ImagesToPredict): Prediction[] {
  const outs = predictImageOutputs(model, images);
  return Array.from({ length: images.n }, (_, i) => {
    const p: Record<string, HeadPrediction> = {};
    model.heads.forEach((h, k) => (p[h.name] = h.decode(outs[k], i)));
    return p;
  });
}
