/**
 * Predictions of a model trained on images (`fitImageModel`, or separate
 * models from `fitSeparateImages`): the image shape is checked against the
 * model's H×W×C input first. Browser-safe.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ImageInputSpec } from '../config/resolve.js';
import { imageSize, type ImageSet } from '../data/images/dataset.js';
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
  throw new MultilossError('data', `${source}: images of shape ${shape.join('×')} (height×width×channels) do not fit this model's input ${want.join('×')}: ${what}`);
}

/** The saved network's outputs for a set of images, one n×units array per head (in the model's head order). Checks the image shape first. */
export function predictImageOutputs(model: MultiOutputModel | MultilossModel, images: Pick<ImageSet, 'n' | 'shape' | 'x' | 'source'>, batchSize = 256): Float32Array[] {
  checkImageShape(model, images.shape, images.source);
  return networksOf(model).flatMap((m) => networkOutputs(m, images, batchSize));
}

function networkOutputs(model: MultilossModel, images: Pick<ImageSet, 'n' | 'shape' | 'x' | 'source'>, batchSize: number): Float32Array[] {
  const d = imageSize(images.shape);
  if (images.x.length !== images.n * d) throw new MultilossError('data', `${images.source}: ${images.x.length} pixel values for ${images.n} images of ${images.shape.join('×')}`);
  const outs = model.heads.map((h) => new Float32Array(images.n * h.units));
  for (let start = 0; start < images.n; start += batchSize) {
    const m = Math.min(batchSize, images.n - start);
    const results = tf.tidy(() => model.network.predict(tf.tensor4d(images.x.subarray(start * d, (start + m) * d), [m, ...images.shape])));
    results.forEach((t, h) => {
      outs[h].set(t.dataSync() as Float32Array, start * model.heads[h].units);
      t.dispose();
    });
  }
  return outs;
}

/** Decoded predictions of every head, one object per image. */
export function predictImages(model: MultiOutputModel | MultilossModel, images: Pick<ImageSet, 'n' | 'shape' | 'x' | 'source'>): Prediction[] {
  const outs = predictImageOutputs(model, images);
  return Array.from({ length: images.n }, (_, i) => {
    const p: Record<string, HeadPrediction> = {};
    model.heads.forEach((h, k) => (p[h.name] = h.decode(outs[k], i)));
    return p;
  });
}
