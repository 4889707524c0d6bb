import * as tf from '@tensorflow/tfjs-core';
import { BEYOND_FLOAT32, beyondFloat32 } from '../data/infer.js';
import { MultilossError } from '../errors.js';

/** Numbers in any of the forms the API reads: a tensor, a typed array, or (nested) plain arrays. */
export type NumericInput = tf.Tensor | ArrayLike<number> | ArrayLike<ArrayLike<number>> | readonly unknown[];

/**
 * One output's labels, one entry per row:
 * - classification: a class index, a class name (with `classes`), or a one-hot row;
 * - binary: 0/1, true/false, or a class name (with `classes`: [negative, positive]);
 * - multilabel: a 0/1 row, or an array of class names;
 * - regression and count: a number (in its own unit);
 * - a registered kind: a row of `units` numbers (a number when units = 1).
 *
 * A missing label is `null`, `undefined` or NaN (a NaN anywhere in a row).
 * Tensors and typed arrays hold n values, or n × units.
 */
export type LabelInput = tf.Tensor | ArrayLike<number> | readonly unknown[];

/** Per-row 0/1 (or boolean) mask: 0 marks the output's label as missing in that row. */
export type MaskInput = tf.Tensor | ArrayLike<number> | readonly (number | boolean | null | undefined)[];

/** Per-row non-negative loss weights. */
export type WeightInput = tf.Tensor | ArrayLike<number>;

/**
 * Features and per-output labels. `xs` has one row per example (n × features,
 * or n × H × W × C …, matching the model input); `ys`, `masks` and
 * `sampleWeights` are keyed by output name. A dataset or iterable yields
 * objects of this shape, one batch (or one example) each.
 */
export interface ArrayData {
  xs: NumericInput;
  ys: Record<string, LabelInput>;
  masks?: Record<string, MaskInput>;
  sampleWeights?: Record<string, WeightInput>;
}

/**
 * What `tf.data.Dataset` offers (structurally, so tfjs-data stays optional):
 * an iterator whose `next()` resolves to `{ value, done }`. Tensors in its
 * elements are disposed after they are read, as tfjs's own fitDataset does.
 */
export interface DatasetLike<T> {
  iterator(): Promise<{ next(): Promise<IteratorResult<T>> }>;
}

/**
 * Training or validation data: arrays/tensors in one object, a tf.data
 * Dataset of batches (or examples), or an (async) iterable of batches.
 *
 * Arrays are held in memory and shuffled every epoch (`training.seed`). A
 * Dataset or iterable is streamed: a first pass gathers what the heads are
 * fitted on (counts and sums; with `validationSplit`, every row's labels, to
 * pick the same stratified rows as for arrays; never the features), then every
 * epoch reads it again and its rows go to the trainer as they arrive, in the
 * source's order (never reshuffled: shuffle
 * with `dataset.shuffle()`), cut into batches of `training.batchSize`
 * whatever the size of the elements. The same rows in the same order as
 * arrays with `training.shuffle: false` give identical weights.
 * A generator object can be read only once: it is kept in memory after its
 * first pass (pass a re-iterable to stream it). Tensors you pass in arrays or
 * yield from your own iterables stay yours.
 */
export type DataSource = ArrayData | DatasetLike<unknown> | AsyncIterable<ArrayData> | Iterable<ArrayData>;

/** How to read one output's labels into n × units numbers (label space). */
export interface LabelReader {
  name: string;
  units: number;
  /**
   * Converts the labels of `n` rows: `out` (n × units) receives the values,
   * `present[i]` 0 marks a missing label. Throws naming the output and row.
   */
  read(labels: LabelInput, n: number, out: Float32Array, present: Uint8Array, rowOffset: number): void;
}

/** Everything read from a source, row-aligned, before the heads encode it. */
export interface RawData {
  n: number;
  /** Shape of one input row. */
  rowShape: number[];
  x: Float32Array;
  /** Per output (in head order): labels (n × units), mask (1 = labelled) and sample weight. */
  labels: { values: Float32Array; mask: Float32Array; sampleWeight: Float32Array }[];
}

const isTensor = (v: unknown): v is tf.Tensor => v instanceof tf.Tensor;
const isArrayLikeNumber = (v: unknown): v is ArrayLike<number> => ArrayBuffer.isView(v) && !(v instanceof DataView);

/** Flattens numbers given as a tensor, typed array or nested arrays; `shape` is what was found. */
export function flattenNumeric(input: unknown, where: string): { values: Float32Array; shape: number[] } {
  if (isTensor(input)) {
    if (input.dtype === 'string') throw new MultilossError('data', `${where}: a string tensor; expected numbers`);
    return { values: Float32Array.from(input.dataSync() as ArrayLike<number>), shape: [...input.shape] };
  }
  if (isArrayLikeNumber(input)) {
    // A Float64Array (or a BigInt-free integer array) may hold numbers a float32 cannot.
    for (let i = 0; i < input.length; i++) if (beyondFloat32(input[i])) throw new MultilossError('data', `${where}[${i}]: ${input[i]} ${BEYOND_FLOAT32}`);
    return { values: Float32Array.from(input), shape: [input.length] };
  }
  if (!Array.isArray(input)) throw new MultilossError('data', `${where}: expected a tensor, a typed array or an array of numbers, got ${input === null ? 'null' : typeof input}`);
  const shape: number[] = [];
  let probe: unknown = input;
  while (Array.isArray(probe) || isArrayLikeNumber(probe)) {
    const a = probe as ArrayLike<unknown>;
    shape.push(a.length);
    if (a.length === 0) break;
    probe = a[0];
  }
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(size);
  let k = 0;
  const walk = (v: unknown, depth: number, path: number[]): void => {
    if (depth === shape.length) {
      if (typeof v === 'number') {
        if (beyondFloat32(v)) throw new MultilossError('data', `${where}[${path.join('][')}]: ${v} ${BEYOND_FLOAT32}`);
        values[k++] = v;
      } else if (v === null || v === undefined) values[k++] = NaN;
      else if (typeof v === 'boolean') values[k++] = v ? 1 : 0;
      else throw new MultilossError('data', `${where}[${path.join('][')}]: ${JSON.stringify(v)} is not a number`);
      return;
    }
    const a = v as ArrayLike<unknown>;
    if (!(Array.isArray(a) || isArrayLikeNumber(a)) || a.length !== shape[depth]) {
      throw new MultilossError('data', `${where}[${path.join('][')}]: ragged array (expected ${shape[depth]} entries at depth ${depth}, as in the first row)`);
    }
    for (let i = 0; i < a.length; i++) walk(a[i], depth + 1, [...path, i]);
  };
  walk(input, 0, []);
  return { values, shape };
}

/** The per-row values of a mask or weight input (n of them). */
function perRow(input: unknown, n: number, where: string): Float32Array {
  if (Array.isArray(input)) {
    if (input.length !== n) throw new MultilossError('data', `${where}: ${input.length} values for ${n} rows`);
    return Float32Array.from(input, (v: unknown) => (v === true ? 1 : v === false || v === null || v === undefined ? 0 : Number(v)));
  }
  const { values, shape } = flattenNumeric(input, where);
  if (values.length !== n || (shape.length > 1 && shape.slice(1).some((d) => d !== 1))) {
    throw new MultilossError('data', `${where}: shape [${shape.join(', ')}] for ${n} rows; expected [${n}]`);
  }
  return values;
}

/**
 * Reads one batch (or one example when `single`): features into `rowShape`
 * rows, each output's labels through its reader, masks and sample weights.
 */
function readBatch(element: unknown, readers: readonly LabelReader[], inputShape: readonly (number | null)[] | undefined, where: string, single: boolean): RawData {
  if (!element || typeof element !== 'object' || !('xs' in element) || !('ys' in element)) {
    const keys = element && typeof element === 'object' ? Object.keys(element).join(', ') || '(none)' : String(element);
    throw new MultilossError('data', `${where}: expected an object { xs, ys, masks?, sampleWeights? }, got keys: ${keys}`);
  }
  const el = element as ArrayData;
  const xs = flattenNumeric(el.xs, `${where}.xs`);
  let n: number;
  let rowShape: number[];
  if (single) {
    n = 1;
    rowShape = xs.shape;
  } else if (xs.shape.length === 1 && inputShape && inputShape.every((d) => d !== null)) {
    // Flat: n × rowSize values in a row-major typed array (or a plain list when rows have one value).
    const rowSize = (inputShape as number[]).reduce((a, b) => a * b, 1);
    if (xs.values.length % rowSize !== 0) throw new MultilossError('data', `${where}.xs: ${xs.values.length} values are not a whole number of rows of ${rowSize}`);
    n = xs.values.length / rowSize;
    rowShape = [...(inputShape as number[])];
  } else if (xs.shape.length === 1 && readers.length > 0) {
    // Flat features and no known row shape: as many rows as the first output has labels.
    const first = (el.ys as Record<string, unknown> | undefined)?.[readers[0].name];
    const rows = isTensor(first) ? first.shape[0] : Array.isArray(first) || isArrayLikeNumber(first) ? (first as ArrayLike<unknown>).length : xs.shape[0];
    if (!rows || xs.values.length % rows !== 0) {
      throw new MultilossError('data', `${where}.xs: ${xs.values.length} flat values do not split into ${rows} rows; give xs as an n × features array or tensor`);
    }
    n = rows;
    rowShape = [xs.values.length / rows];
  } else {
    n = xs.shape[0];
    rowShape = xs.shape.slice(1);
  }
  if (inputShape) {
    const ok = rowShape.length === inputShape.length && inputShape.every((d, i) => d === null || d === rowShape[i]);
    if (!ok) throw new MultilossError('data', `${where}.xs: rows of shape [${rowShape.join(', ')}], the model takes [${inputShape.map((d) => (d === null ? '?' : d)).join(', ')}]`);
  }
  const ys = el.ys as Record<string, LabelInput> | undefined;
  if (!ys || typeof ys !== 'object') throw new MultilossError('data', `${where}.ys: expected an object of labels by output name`);
  const names = readers.map((r) => r.name);
  const missing = names.filter((name) => !(name in ys) || ys[name] === undefined);
  if (missing.length) {
    throw new MultilossError('data', `${where}: no labels for output${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')} (ys has: ${Object.keys(ys).join(', ') || 'nothing'}); give null/NaN labels for rows where an output is unlabelled`);
  }
  const extra = Object.keys(ys).filter((k) => !names.includes(k));
  if (extra.length) throw new MultilossError('data', `${where}.ys: ${extra.map((e) => `"${e}"`).join(', ')} ${extra.length > 1 ? 'are' : 'is'} not an output with a head (heads: ${names.join(', ')})`);
  for (const key of ['masks', 'sampleWeights'] as const) {
    const extraKeys = Object.keys(el[key] ?? {}).filter((k) => !names.includes(k));
    if (extraKeys.length) throw new MultilossError('data', `${where}.${key}: "${extraKeys[0]}" is not an output with a head (heads: ${names.join(', ')})`);
  }
  const labels = readers.map((r) => {
    const values = new Float32Array(n * r.units);
    const present = new Uint8Array(n);
    const input = single ? wrapSingle(ys[r.name]) : ys[r.name];
    r.read(input, n, values, present, 0);
    const mask = Float32Array.from(present);
    const m = el.masks?.[r.name];
    if (m !== undefined) {
      const mv = perRow(single ? wrapSingle(m) : m, n, `${where}.masks.${r.name}`);
      for (let i = 0; i < n; i++) {
        if (mv[i] !== 0 && mv[i] !== 1) throw new MultilossError('data', `${where}.masks.${r.name}[${i}]: ${mv[i]} (a mask holds 0/1 or booleans)`);
        if (mv[i] === 0) mask[i] = 0;
      }
    }
    let sampleWeight: Float32Array = new Float32Array(n).fill(1);
    const w = el.sampleWeights?.[r.name];
    if (w !== undefined) {
      sampleWeight = perRow(single ? wrapSingle(w) : w, n, `${where}.sampleWeights.${r.name}`);
      for (let i = 0; i < n; i++) {
        if (!Number.isFinite(sampleWeight[i]) || sampleWeight[i] < 0) {
          throw new MultilossError('data', `${where}.sampleWeights.${r.name}[${i}]: ${sampleWeight[i]} must be a finite number ≥ 0`);
        }
      }
    }
    for (let i = 0; i < n; i++) if (!mask[i]) values.fill(0, i * r.units, (i + 1) * r.units);
    return { values, mask, sampleWeight };
  });
  return { n, rowShape, x: xs.values, labels };
}

/** A single example's label/mask/weight as a batch of one. */
function wrapSingle(v: unknown): LabelInput {
  return [isTensor(v) ? v.arraySync() : v];
}

export function concatRaw(parts: RawData[], units: readonly number[], where: string): RawData {
  if (parts.length === 0) throw new MultilossError('data', `${where}: no rows`);
  const rowShape = parts[0].rowShape;
  for (const p of parts) {
    if (p.rowShape.join(',') !== rowShape.join(',')) {
      throw new MultilossError('data', `${where}: rows of shape [${p.rowShape.join(', ')}] after rows of shape [${rowShape.join(', ')}]`);
    }
  }
  if (parts.length === 1) return parts[0];
  const n = parts.reduce((s, p) => s + p.n, 0);
  const rowSize = rowShape.reduce((a, b) => a * b, 1);
  const cat = (get: (p: RawData) => Float32Array, width: number): Float32Array => {
    const out = new Float32Array(n * width);
    let off = 0;
    for (const p of parts) {
      out.set(get(p), off);
      off += p.n * width;
    }
    return out;
  };
  return {
    n,
    rowShape,
    x: cat((p) => p.x, rowSize),
    labels: units.map((u, h) => ({
      values: cat((p) => p.labels[h].values, u),
      mask: cat((p) => p.labels[h].mask, 1),
      sampleWeight: cat((p) => p.labels[h].sampleWeight, 1),
    })),
  };
}

function isDataset(v: unknown): v is DatasetLike<unknown> {
  return !!v && typeof (v as { iterator?: unknown }).iterator === 'function';
}

/** Every tensor inside a dataset element (nested objects and arrays). */
function tensorsIn(v: unknown, out: tf.Tensor[] = []): tf.Tensor[] {
  if (isTensor(v)) out.push(v);
  else if (Array.isArray(v)) v.forEach((x) => tensorsIn(x, out));
  else if (v && typeof v === 'object' && !ArrayBuffer.isView(v)) Object.values(v).forEach((x) => tensorsIn(x, out));
  return out;
}

/** Whether a source is a tf.data Dataset or an (async) iterable (read as a stream), not arrays in one object. */
export function isStreamSource(source: DataSource): source is DatasetLike<unknown> | AsyncIterable<ArrayData> | Iterable<ArrayData> {
  if (!source || typeof source !== 'object' || 'xs' in source || 'ys' in source) return false;
  return isDataset(source) || Symbol.asyncIterator in source || Symbol.iterator in source;
}

/** One dataset or iterable element as rows; a batch or a single example (told apart by the rank of `xs`). */
function readElement(element: unknown, readers: readonly LabelReader[], inputShape: readonly (number | null)[] | undefined, where: string): RawData {
  const xs = element && typeof element === 'object' ? (element as { xs?: unknown }).xs : undefined;
  const shape = isTensor(xs) ? xs.shape : Array.isArray(xs) || isArrayLikeNumber(xs) ? flattenNumeric(xs, `${where}.xs`).shape : [];
  // One example when xs has the rank of a model input row (and, if flat, the size of one row).
  const rowSize = inputShape?.every((d) => d !== null) ? (inputShape as number[]).reduce((a, b) => a * b, 1) : undefined;
  const size = shape.reduce((a, b) => a * b, 1);
  const single = !!inputShape && shape.length === inputShape.length && (shape.length > 1 || rowSize === undefined || size === rowSize);
  return readBatch(element, readers, inputShape, where, single);
}

/**
 * A Dataset or an (async) iterable read pass after pass, element by element
 * (`parts()` starts a new pass each time). A Dataset is asked for a new
 * iterator per pass and its tensors are disposed once read. An iterable whose
 * iterator is the iterable itself (a generator object) can be read only once:
 * its rows are kept in memory on the first pass and handed out again from
 * there — pass a re-iterable (e.g. `{ [Symbol.asyncIterator]: () => gen() }`)
 * to stream it every epoch.
 */
export class ElementStream {
  private buffered?: RawData[];
  private passes = 0;

  constructor(
    private readonly source: DatasetLike<unknown> | AsyncIterable<ArrayData> | Iterable<ArrayData>,
    private readonly readers: readonly LabelReader[],
    private readonly inputShape: readonly (number | null)[] | undefined,
    private readonly what: string,
  ) {}

  /** Every element of one pass, as rows (elements without rows are skipped). */
  async *parts(): AsyncGenerator<RawData> {
    if (this.buffered) {
      yield* this.buffered;
      return;
    }
    const pass = this.passes++;
    let index = 0;
    const read = (element: unknown, dispose: boolean): RawData => {
      try {
        return readElement(element, this.readers, this.inputShape, `${this.what} element ${index++}`);
      } finally {
        if (dispose) tf.dispose(tensorsIn(element));
      }
    };
    const src = this.source;
    if (isDataset(src)) {
      const it = await src.iterator();
      for (;;) {
        const r = await it.next();
        if (r.done) break;
        const part = read(r.value, true);
        if (part.n > 0) yield part;
      }
      return;
    }
    let oneShot: boolean;
    let elements: AsyncIterator<unknown> | Iterator<unknown>;
    if (Symbol.asyncIterator in src) {
      elements = (src as AsyncIterable<unknown>)[Symbol.asyncIterator]();
      oneShot = elements === (src as unknown);
    } else {
      elements = (src as Iterable<unknown>)[Symbol.iterator]();
      oneShot = elements === (src as unknown);
    }
    if (oneShot && pass > 0) throw new MultilossError('data', `${this.what}: the iterable was already read (a generator object can be read once)`);
    const keep: RawData[] | undefined = oneShot ? [] : undefined;
    for (;;) {
      const r = await elements.next();
      if (r.done) break;
      const part = read(r.value, false);
      if (part.n === 0) continue;
      keep?.push(part);
      yield part;
    }
    if (keep) this.buffered = keep;
  }
}

/**
 * Reads a whole source into row-aligned arrays. `inputShape` is the model's
 * input row shape (null entries: any size), when known. Dataset and iterable
 * elements may be batches or single examples (told apart by the rank of `xs`).
 */
export async function readSource(source: DataSource, readers: readonly LabelReader[], inputShape: readonly (number | null)[] | undefined, what: string): Promise<RawData> {
  const units = readers.map((r) => r.units);
  if (!source || typeof source !== 'object') throw new MultilossError('data', `${what}: expected { xs, ys }, a tf.data.Dataset or an (async) iterable of batches`);
  if ('xs' in source || 'ys' in source) return concatRaw([readBatch(source, readers, inputShape, what, false)], units, what);
  if (!isStreamSource(source)) throw new MultilossError('data', `${what}: expected { xs, ys }, a tf.data.Dataset or an (async) iterable of batches`);
  const parts: RawData[] = [];
  for await (const part of new ElementStream(source, readers, inputShape, what).parts()) parts.push(part);
  if (parts.length === 0) throw new MultilossError('data', `${what}: the source yielded no rows`);
  return concatRaw(parts, units, what);
}
