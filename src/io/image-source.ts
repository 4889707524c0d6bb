/**
 * Image data named by a configuration or the command line (`data: { images,
 * labels, size, scale, … }`, `data: { idx: { images, labels } }`, `train
 * --images --labels`): how each source is read. `imageReaderOptions` is the one
 * place a source's options become the readers' options (io/image-files.ts);
 * `modelImageSource` is how `predict`/`evaluate` read new images as a model's
 * training images were read. Node-only.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { canonicalJson, fileFingerprint } from '../compare/run-id.js';
import { isImageSource, type Config, type IdxSource, type ImageFolderSource, type ImageSource } from '../config/schema.js';
import type { CompareImages } from '../compare/compare.js';
import type { ImageSet, ImageStream } from '../data/images/dataset.js';
import type { IdxImageOptions } from '../data/images/idx.js';
import { MultilossError } from '../errors.js';
import { imageInputSpecOf } from '../model/images.js';
import type { MultiOutputModel } from '../model/multi-output.js';
import type { MultilossModel } from '../model/multiloss-model.js';
import { indexImageFolder, readIdxImages, readImageFolder, readOptionsFor, streamImageFolder, type ImageFolderOptions } from './image-files.js';

/** How a source is read: which reader, with which options. */
export type ImageReading = { kind: 'folder'; options: ImageFolderOptions } | { kind: 'idx'; images: string; labels?: string; options: IdxImageOptions };

/** A folder of images without a labels file: every PNG/JPEG file in it is read, in file-name order. */
export interface UnlabelledFolder {
  unlabelled: Omit<ImageFolderSource, 'labels'>;
}

/** Only the options given (the readers' defaults apply to the others). */
function given<T extends Record<string, unknown>>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * The readers' options of an image source: every configuration field of an
 * image source that concerns reading maps to a reader option here, and only
 * here (`augment` concerns training: see `imageInputOf`).
 */
export function imageReaderOptions(source: ImageSource | UnlabelledFolder): ImageReading {
  if ('idx' in source) {
    const { images, labels, labelColumn, channels, size, scale } = source.idx;
    return { kind: 'idx', images, ...given({ labels }), options: given({ labelColumn, channels, size, scale }) };
  }
  const folder = 'unlabelled' in source ? source.unlabelled : source;
  const { images, fileColumn, channels, size, scale } = folder;
  const labels = 'unlabelled' in source ? undefined : source.labels;
  return { kind: 'folder', options: { dir: images, ...given({ labels, fileColumn, channels, size, scale }) } };
}

/**
 * Reads the images (and labels) of a source; with `stream`, a folder's pixels
 * are decoded per batch (`streamImageFolder`) instead of read whole.
 */
export function readImageSource(source: ImageSource | UnlabelledFolder): ImageSet;
export function readImageSource(source: ImageSource | UnlabelledFolder, options: { stream?: boolean }): ImageSet | ImageStream;
export function readImageSource(source: ImageSource | UnlabelledFolder, options: { stream?: boolean } = {}): ImageSet | ImageStream {
  const r = imageReaderOptions(source);
  if (r.kind === 'idx') {
    if (options.stream) throw new MultilossError('config', `stream: ${r.images} is an IDX file, read whole; streaming applies to image folders (remove stream / --stream)`);
    return readIdxImages(r.images, r.labels, r.options);
  }
  return options.stream ? streamImageFolder(r.options) : readImageFolder(r.options);
}

/**
 * The fingerprint of an image source in run ids (as a table file's is the
 * SHA-256 of its bytes, see run-id.ts): what the images decode to — the
 * reading options (channels, size, scale, the file or label column) — and the
 * bytes of the files read: a folder's labels file, then every image it names
 * in its order (its size and bytes), or the IDX files. Not where they are: an
 * identical copy elsewhere has the same fingerprint; one changed image, label
 * or option changes it. One pass over the files, one file in memory at a time.
 */
export async function imageSourceFingerprint(source: ImageSource): Promise<string> {
  const r = imageReaderOptions(source);
  if (r.kind === 'idx') {
    const files = [await fileFingerprint(r.images), r.labels !== undefined ? await fileFingerprint(r.labels) : null];
    return createHash('sha256').update(canonicalJson({ kind: 'idx', options: r.options, files })).digest('hex');
  }
  const index = indexImageFolder(r.options);
  const { dir: _dir, labels: _labels, ...options } = r.options;
  const hash = createHash('sha256').update(canonicalJson({ kind: 'folder', options, labels: await fileFingerprint(index.source) }));
  for (const path of index.files) {
    const bytes = readFileSync(path);
    hash.update(`\n${bytes.length}\n`).update(bytes);
  }
  return hash.digest('hex');
}

/** Where a source's images are, for messages. */
export function describeImageSource(source: ImageSource): string {
  return 'idx' in source ? source.idx.images : source.images;
}

/**
 * The source a model reads new images from: the paths given, the labels'
 * naming as in training (file column, IDX label column), and the pixel
 * preparation the model recorded (channels, size, scale: `imageReadOptions`;
 * for a model without a record, its input's channels). A path naming a file
 * is read as IDX, a folder as images.
 */
export function modelImageSource(model: MultiOutputModel | MultilossModel, paths: { images: string; labels?: string; fileColumn?: string }): ImageSource | UnlabelledFolder {
  const spec = imageInputSpecOf(model);
  const read = readOptionsFor(model);
  const images = resolve(paths.images);
  const labels = paths.labels === undefined ? undefined : resolve(paths.labels);
  if (isFile(images)) {
    const labelColumn = spec?.source === 'idx' ? spec.labelColumn : undefined;
    return { idx: { images, ...given({ labels, labelColumn }), ...read } } satisfies IdxSource;
  }
  const fileColumn = paths.fileColumn ?? (spec?.source === 'folder' ? spec.fileColumn : undefined);
  const folder = { images, ...given({ fileColumn }), ...read };
  return labels === undefined ? { unlabelled: folder } : ({ ...folder, labels } satisfies ImageFolderSource);
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Images (in memory or streamed) with a name per image (file names; 1-based positions for IDX): what predictions are keyed by. */
export interface NamedImages<T extends ImageSet | ImageStream = ImageSet> {
  set: T;
  names: string[];
  /** What the names are: the folder's file column, or "image" (IDX positions). */
  nameColumn: string;
}

/** Reads images for training, prediction or evaluation, each with its name (see NamedImages); `stream` as `readImageSource`. */
export function readNamedImages(source: ImageSource | UnlabelledFolder): NamedImages;
export function readNamedImages(source: ImageSource | UnlabelledFolder, options: { stream?: boolean }): NamedImages<ImageSet | ImageStream>;
export function readNamedImages(source: ImageSource | UnlabelledFolder, options: { stream?: boolean } = {}): NamedImages<ImageSet | ImageStream> {
  const set = readImageSource(source, options);
  if ('idx' in source) return { set, names: Array.from({ length: set.n }, (_, i) => String(i + 1)), nameColumn: 'image' };
  const folder = 'unlabelled' in source ? source.unlabelled : source;
  const dir = resolve(folder.images);
  return { set, names: (set.files ?? []).map((f) => relative(dir, f)), nameColumn: folder.fileColumn ?? 'file' };
}

/**
 * The training (and validation) images of a configuration whose data are
 * images, each with its name; a folder streamed when the configuration says
 * `stream`. The validation data must be images too, without `augment`
 * (augmentation applies to training batches only).
 */
export function readTrainingImages(config: Config): { train: NamedImages<ImageSet | ImageStream>; validation?: NamedImages<ImageSet | ImageStream> } {
  const held = config.validation?.data;
  if (held !== undefined && !isImageSource(held)) {
    throw new MultilossError('config', `validation.data: the training data are images, so the validation data must be images too ({ images: DIR, labels: FILE } or { idx: … }), not ${held}`);
  }
  if (held !== undefined && ('idx' in held ? held.idx.augment : held.augment) !== undefined) {
    throw new MultilossError('config', 'validation.data.augment: augmentation applies to the training images only; remove it from validation.data');
  }
  const stream = config.stream !== undefined && config.stream !== false;
  const train = readNamedImages(config.data as ImageSource, { stream });
  return { train, ...(held ? { validation: readNamedImages(held, { stream }) } : {}) };
}

/**
 * The images of a comparison on image data (`compare`, its queue workers):
 * the training and validation images of the configuration, read whole (runs
 * may go to worker threads); `stream` does not apply.
 */
export function readCompareImages(config: Config): CompareImages {
  const { train, validation } = readTrainingImages({ ...config, stream: undefined });
  return { train: train.set as ImageSet, ...(validation ? { validation: validation.set as ImageSet } : {}) };
}
