/**
 * Image data named by a configuration or the command line (`data: { images,
 * labels }`, `data: { idx: { images, labels } }`, `train --images --labels`):
 * how each source is read. `imageReaderOptions` is the one place a source's
 * options become the readers' options (io/image-files.ts). Node-only.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import type { ImageInputSpec } from '../config/resolve.js';
import type { IdxSource, ImageFolderSource, ImageSource } from '../config/schema.js';
import type { ImageSet } from '../data/images/dataset.js';
import type { IdxImageOptions } from '../data/images/idx.js';
import { MultilossError } from '../errors.js';
import { ioMessage, writeFileSynced } from './files.js';
import { readIdxImages, readImageFolder, type ImageFolderOptions } from './image-files.js';
import { readDataFile } from './table-file.js';

/** How a source is read: which reader, with which options. */
export type ImageReading = { kind: 'folder'; options: ImageFolderOptions } | { kind: 'idx'; images: string; labels?: string; options: IdxImageOptions };

/** The readers' options of an image source: every configuration field of an image source maps to a reader option here, and only here. */
export function imageReaderOptions(source: ImageSource): ImageReading {
  if ('idx' in source) {
    const { images, labels, labelColumn } = source.idx;
    return { kind: 'idx', images, labels, options: { ...(labelColumn !== undefined ? { labelColumn } : {}) } };
  }
  const { images, labels, fileColumn, channels } = source;
  return { kind: 'folder', options: { labels, dir: images, ...(fileColumn !== undefined ? { fileColumn } : {}), ...(channels !== undefined ? { channels } : {}) } };
}

/** Reads the images (and labels) of a source. */
export function readImageSource(source: ImageSource): ImageSet {
  const r = imageReaderOptions(source);
  return r.kind === 'idx' ? readIdxImages(r.images, r.labels, r.options) : readImageFolder(r.options);
}

/** Where a source's images are, for messages. */
export function describeImageSource(source: ImageSource): string {
  return 'idx' in source ? source.idx.images : source.images;
}

/**
 * The source a model reads new images from: the paths given, every other
 * option as the model was trained (its recorded ImageInputSpec), the channels
 * its input takes. A path naming a file is read as IDX, a folder as images.
 */
export function modelImageSource(spec: ImageInputSpec | undefined, paths: { images: string; labels?: string; fileColumn?: string }, channels: number): ImageSource | UnlabelledFolder {
  const images = resolve(paths.images);
  const labels = paths.labels === undefined ? undefined : resolve(paths.labels);
  if (isFile(images)) {
    const { source: _kind, ...options } = spec?.source === 'idx' ? spec : { source: 'idx' as const };
    return { idx: { ...options, images, ...(labels !== undefined ? { labels } : {}) } } satisfies IdxSource;
  }
  const { source: _kind, ...options } = spec?.source === 'folder' ? spec : { source: 'folder' as const };
  const fileColumn = paths.fileColumn ?? (options as { fileColumn?: string }).fileColumn;
  const folder = { ...options, images, channels: channels as 1 | 3, ...(fileColumn !== undefined ? { fileColumn } : {}) };
  return labels === undefined ? { unlabelled: folder } : ({ ...folder, labels } satisfies ImageFolderSource);
}

/** A folder of images without a labels file: every PNG/JPEG file in it is read, in file-name order. */
export interface UnlabelledFolder {
  unlabelled: Omit<ImageFolderSource, 'labels'>;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

/** The PNG/JPEG files of a folder, by name. */
function imageFilesIn(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw new MultilossError('data', `${dir}: cannot read the image folder (${ioMessage(e)})`);
  }
  const files = names.filter((n) => IMAGE_EXTENSIONS.has(extname(n).toLowerCase())).sort();
  if (files.length === 0) throw new MultilossError('data', `${dir}: no PNG or JPEG files in the image folder`);
  return files;
}

/** Images with a name per image (file names; 1-based positions for IDX): what predictions are keyed by. */
export interface NamedImages {
  set: ImageSet;
  names: string[];
  /** What the names are: the folder's file column, or "image" (IDX positions). */
  nameColumn: string;
}

/** Reads images for prediction or evaluation, each with its name (see NamedImages). */
export async function readNamedImages(source: ImageSource | UnlabelledFolder): Promise<NamedImages> {
  if ('unlabelled' in source) {
    const { images, fileColumn = 'file', ...options } = source.unlabelled;
    const files = imageFilesIn(images);
    // The folder reader reads a labels file: a list of the folder's files stands in for one (removed at once).
    const tmp = mkdtempSync(join(tmpdir(), 'multiloss-images-'));
    try {
      const list = join(tmp, 'files.csv');
      // Every field quoted (RFC 4180): a file name may hold commas or quotes.
      writeFileSynced(list, `${[fileColumn, ...files].map((f) => `"${f.replace(/"/g, '""')}"`).join('\n')}\n`);
      const set = readImageSource({ ...options, images, labels: list, fileColumn });
      return { set: { ...set, source: images }, names: files, nameColumn: fileColumn };
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  const set = readImageSource(source);
  if ('idx' in source) return { set, names: Array.from({ length: set.n }, (_, i) => String(i + 1)), nameColumn: 'image' };
  const fileColumn = source.fileColumn ?? 'file';
  const table = await readDataFile(source.labels);
  const at = table.columns.indexOf(fileColumn);
  return { set, names: Array.from({ length: table.length }, (_, i) => String(table.data[at].get(i))), nameColumn: fileColumn };
}
