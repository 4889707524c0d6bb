/**
 * The IDX format of MNIST and Fashion-MNIST (LeCun et al.): a 4-byte magic
 * number — two zero bytes, the element type (0x08 unsigned byte, 0x09 signed
 * byte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64) and the number of
 * dimensions — then each dimension as a big-endian uint32, then the values,
 * big-endian, row-major. Browser-safe: decompression of .gz files is in ./node.ts.
 */
import { MultilossError } from '../../errors.js';
import type { Cell } from '../table.js';
import type { ImageSet } from './dataset.js';
import { convertChannels, finishPixels, pixelFormat, type PixelScale } from './pixels.js';

export interface IdxArray {
  /** Dimension sizes, e.g. [60000, 28, 28]. */
  shape: number[];
  /** Element type name. */
  type: 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
  /** The values, as numbers. */
  data: Float64Array | Uint8Array;
}

const TYPES: Record<number, { type: IdxArray['type']; bytes: number }> = {
  0x08: { type: 'uint8', bytes: 1 },
  0x09: { type: 'int8', bytes: 1 },
  0x0b: { type: 'int16', bytes: 2 },
  0x0c: { type: 'int32', bytes: 4 },
  0x0d: { type: 'float32', bytes: 4 },
  0x0e: { type: 'float64', bytes: 8 },
};

const hex = (b: number): string => `0x${b.toString(16).padStart(2, '0')}`;

/** Parses an (uncompressed) IDX file. `source` names it in errors. */
export function parseIdx(bytes: Uint8Array, source: string): IdxArray {
  if (bytes.length < 4) throw new MultilossError('data', `${source}: not an IDX file (${bytes.length} bytes; the header alone has 4)`);
  if (bytes[0] !== 0 || bytes[1] !== 0 || !TYPES[bytes[2]] || bytes[3] < 1) {
    const magic = Array.from(bytes.subarray(0, 4), hex).join(' ');
    throw new MultilossError('data', `${source}: not an IDX file: wrong magic number ${magic} (expected 0x00 0x00, a type byte 0x08/0x09/0x0b/0x0c/0x0d/0x0e and a dimension count ≥ 1)`);
  }
  const { type, bytes: size } = TYPES[bytes[2]];
  const ndim = bytes[3];
  const header = 4 + 4 * ndim;
  if (bytes.length < header) throw new MultilossError('data', `${source}: truncated IDX file: ${bytes.length} bytes, the header of ${ndim} dimensions needs ${header}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = shape.reduce((a, b) => a * b, 1);
  const expected = header + count * size;
  if (bytes.length < expected) {
    throw new MultilossError('data', `${source}: truncated IDX file: ${bytes.length} bytes, its header (${type}, shape ${shape.join('×')}) needs ${expected}`);
  }
  if (bytes.length > expected) throw new MultilossError('data', `${source}: IDX file has ${bytes.length - expected} bytes after its ${count} values (shape ${shape.join('×')}); not one IDX array`);
  if (type === 'uint8') return { shape, type, data: bytes.slice(header, expected) };
  const data = new Float64Array(count);
  for (let i = 0, o = header; i < count; i++, o += size) {
    data[i] =
      type === 'int8' ? view.getInt8(o) : type === 'int16' ? view.getInt16(o, false) : type === 'int32' ? view.getInt32(o, false) : type === 'float32' ? view.getFloat32(o, false) : view.getFloat64(o, false);
  }
  return { shape, type, data };
}

/** Encodes an array as IDX (for tests and exports). */
export function encodeIdx(shape: readonly number[], type: IdxArray['type'], values: ArrayLike<number>): Uint8Array {
  const code = Number(Object.entries(TYPES).find(([, t]) => t.type === type)?.[0]);
  const size = TYPES[code].bytes;
  const header = 4 + 4 * shape.length;
  const out = new Uint8Array(header + values.length * size);
  const view = new DataView(out.buffer);
  out.set([0, 0, code, shape.length]);
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  for (let i = 0, o = header; i < values.length; i++, o += size) {
    const v = values[i];
    if (type === 'uint8') view.setUint8(o, v);
    else if (type === 'int8') view.setInt8(o, v);
    else if (type === 'int16') view.setInt16(o, v, false);
    else if (type === 'int32') view.setInt32(o, v, false);
    else if (type === 'float32') view.setFloat32(o, v, false);
    else view.setFloat64(o, v, false);
  }
  return out;
}

export interface IdxImageOptions {
  /** Name of the label column (default "label"). */
  labelColumn?: string;
  /**
   * A number: divide the raw values by it (no recorded pixel format). A name
   * (`unit`, the default; `symmetric`; `standardize`, see `PixelScale`): unsigned
   * bytes are read as v/255 and scaled as the image folders' `scale`.
   */
  scale?: number | PixelScale;
  /** [height, width] to resize every image to (bilinear, as `resizeBilinear`). */
  size?: [number, number];
  /** 1 (grey) or 3 (RGB): converts the file's channels (grey → RGB repeats the value). Default: the file's. */
  channels?: 1 | 3;
  source?: string;
}

/**
 * An ImageSet from an IDX images array (n×H×W, or n×H×W×C) and, optionally,
 * an IDX labels array (n values), e.g. MNIST's train-images / train-labels.
 */
export function idxToImageSet(images: IdxArray, labels?: IdxArray, options: IdxImageOptions = {}): ImageSet {
  const source = options.source ?? 'IDX images';
  const s = images.shape;
  if (s.length !== 3 && s.length !== 4) throw new MultilossError('data', `${source}: expected images of shape n×height×width (or n×height×width×channels), got ${s.join('×')}`);
  const n = s[0];
  const fileShape: [number, number, number] = [s[1], s[2], s.length === 4 ? s[3] : 1];
  const named = typeof options.scale !== 'number';
  const divisor = typeof options.scale === 'number' ? options.scale : images.type === 'uint8' ? 255 : 1;
  let x: Float32Array = new Float32Array(images.data.length);
  for (let i = 0; i < x.length; i++) x[i] = images.data[i] / divisor;
  const fileChannels = fileShape[2];
  // A file of other than 1 or 3 channels is read as it is (its format is not recorded).
  const channels = options.channels ?? (fileChannels === 3 ? 3 : 1);
  const format = pixelFormat({ channels, size: options.size, scale: named ? (options.scale as PixelScale | undefined) : 'unit' }, 'IDX images', 1);
  const recorded = named && (options.channels !== undefined || fileChannels === 1 || fileChannels === 3);
  let shape = fileShape;
  if (options.channels !== undefined && options.channels !== fileChannels) {
    x = convertChannels(x, n, fileShape[0] * fileShape[1], fileChannels, options.channels);
    shape = [fileShape[0], fileShape[1], options.channels];
  }
  if (format.size || format.scale === 'symmetric') {
    const to: [number, number, number] = format.size ? [format.size[0], format.size[1], shape[2]] : shape;
    const d = shape[0] * shape[1] * shape[2];
    const out = new Float32Array(n * to[0] * to[1] * to[2]);
    for (let i = 0; i < n; i++) out.set(finishPixels(x.slice(i * d, (i + 1) * d), shape, format), i * out.length / n);
    x = out;
    shape = to;
  }
  const out: ImageSet = { n, shape, x, labels: {}, source, ...(recorded ? { pixels: format } : {}) };
  if (labels) {
    if (labels.shape.length !== 1 || labels.shape[0] !== n) throw new MultilossError('data', `${source}: the labels file holds ${labels.shape.join('×')} values for ${n} images (expected ${n})`);
    out.labels[options.labelColumn ?? 'label'] = Array.from(labels.data, (v): Cell => String(v));
  }
  return out;
}
