import { MultilossError } from '../errors.js';
import type { Cell, Table } from '../data/table.js';
import { BEYOND_FLOAT32, beyondFloat32, parseNumber } from '../data/infer.js';
import { createLoss, customLoss, type CustomLossFn, type LossFunction, type LossOptions } from '../losses/index.js';
import { createMetric } from '../metrics/index.js';
import type { StreamingMetric } from '../metrics/metric.js';
import { BinaryHead, ClassificationHead, CountHead, MultilabelHead, RegressionHead, registerHeadFactory, columnIndex, describeRow, sampleWeights } from '../model/heads/index.js';
import type { EncodedTargets, Head, HeadActivation, HeadJSON, HeadKind, HeadPrediction, HeadSpec } from '../model/heads/head.js';
import type { ValidationFigure } from '../model/heads/factory.js';
import { resolveClassWeights } from '../model/heads/classes.js';
import type { LabelInput, LabelReader, RawData } from './data.js';
import { flattenNumeric } from './data.js';

/** A metric for a head: the name of a registered metric, or a factory of fresh instances. */
export type MetricInput = string | (() => StreamingMetric);

/**
 * One output's head in the library API: the kind (built-in or registered with
 * `registerHeadKind`) and what it needs.
 */
export interface HeadConfig {
  /** 'classification' | 'binary' | 'multilabel' | 'regression' | 'count', or a registered kind. */
  kind: string;
  /**
   * Class names. classification/multilabel: one per output unit (default
   * '0', '1', …); binary: [negative, positive] (default ['0', '1']).
   * Labels may then be given as these names.
   */
  classes?: readonly string[];
  /** Output width, for function models and registered kinds when the model does not tell. */
  units?: number;
  /**
   * regression: train on the standardized label (y − mean) / std, as the CLI
   * does, so that its loss has a scale comparable to the other heads'. The
   * model's output then is that standardized value (`predictDecoded` and
   * the head's `decode` give the label's unit). Given `mean`/`std` are used;
   * missing ones are fitted on the training labels. Default: standardize
   * when `mean` or `std` is given, else train on the label as it is.
   */
  standardize?: boolean;
  mean?: number;
  std?: number;
  /** A built-in or registered loss name, or a per-sample loss function (see `CustomLossFn`). */
  loss?: string | CustomLossFn;
  lossOptions?: LossOptions;
  /** Static loss weight (the `static` balancing method; default 1). */
  weight?: number;
  /** classification and binary: per-class loss weights by class name, or 'balanced'. */
  classWeights?: Record<string, number> | 'balanced';
  /** binary and multilabel: decision threshold on the probability (default 0.5). */
  threshold?: number;
  /** Metrics on top of the kind's own. */
  metrics?: readonly MetricInput[];
}

/**
 * A head kind defined by the user: its output activation, default loss,
 * label encoding, decoding and metrics. Register it with `registerHeadKind`;
 * heads then use it as `kind`.
 */
export interface HeadKindDefinition {
  kind: string;
  /** What turns the raw output into the prediction: 'softmax', 'sigmoid' or 'linear'. */
  activation: HeadActivation;
  /** Default loss: a built-in or registered loss name, or a per-sample loss function. */
  loss: string | CustomLossFn;
  /** Output width when nothing else tells it (config files; default 1). */
  units?: number;
  /** Labels (n × units, as given) → the values the loss compares with the raw output. Default: unchanged. */
  encode?(labels: Float32Array, units: number): Float32Array;
  /** Activated outputs (n × units) → the labels' space, for metrics. Default: unchanged. */
  toMetricSpace?(output: Float32Array, units: number): Float32Array;
  /** One row's prediction from the activated outputs. Default: the row's value (an array when units > 1). */
  decode?(output: Float32Array, row: number, units: number): unknown;
  /** Metrics every head of this kind gets: registered metric names, or a factory of fresh instances. */
  metrics?: readonly string[] | (() => StreamingMetric[]);
  /**
   * The figure the training report draws for this kind's heads on labelled rows, e.g.
   * `{ type: 'scatter', metrics: ['points_error'] }` (predicted against actual, one unit; the
   * named metrics written beside it). Default: none (the report says so).
   */
  validationFigure?: ValidationFigure;
}

/** Every built-in loss: a registered head kind may use any of them. */
const BUILT_IN_LOSSES = ['crossentropy', 'binary_crossentropy', 'focal', 'mse', 'mae', 'huber', 'log_cosh', 'poisson'];
const BUILT_IN_KINDS: readonly string[] = ['classification', 'binary', 'multilabel', 'regression', 'count'];
const DEFINITIONS = new Map<string, HeadKindDefinition>();

/**
 * Registers a head kind for the library API and for config-built models
 * (`fitModel`, saved models: multiloss.json stores the kind's name, so
 * register it before loading). In a config file the target column holds one
 * number per row (units = 1) or a JSON array of `units` numbers.
 * Registering a kind again replaces it.
 */
export function registerHeadKind(definition: HeadKindDefinition): void {
  if (BUILT_IN_KINDS.includes(definition.kind)) throw new MultilossError('config', `registerHeadKind: "${definition.kind}" is a built-in head kind; pick another name`);
  if (!['softmax', 'sigmoid', 'linear'].includes(definition.activation)) {
    throw new MultilossError('config', `registerHeadKind "${definition.kind}": activation must be softmax, sigmoid or linear, got ${JSON.stringify(definition.activation)}`);
  }
  DEFINITIONS.set(definition.kind, definition);
  registerHeadFactory({
    kind: definition.kind,
    losses: typeof definition.loss === 'string' ? [definition.loss] : [],
    fit: (spec) => new DefinedHead(definition, spec, definition.units ?? 1),
    fromJSON: (json: HeadJSON) => new DefinedHead(definition, json.spec, definition.units ?? 1),
    validationFigure: definition.validationFigure,
  });
}

/** The definition of a registered head kind, if any. */
export function headKindDefinition(kind: string): HeadKindDefinition | undefined {
  return DEFINITIONS.get(kind);
}

function lossFor(loss: string | CustomLossFn | undefined, fallback: string | CustomLossFn, options: LossOptions, where: string): LossFunction {
  const l = loss ?? fallback;
  if (typeof l === 'function') return customLoss(l.name || 'custom', l, where, {}, options);
  return createLoss(l, typeof fallback === 'string' ? [fallback, ...BUILT_IN_LOSSES] : BUILT_IN_LOSSES, options, where);
}

function metricsOf(list: readonly MetricInput[] | undefined, where: string): StreamingMetric[] {
  return (list ?? []).map((m) => (typeof m === 'string' ? createMetric(m, `${where}: metrics`) : m()));
}

/** A head of a registered kind. */
class DefinedHead implements Head {
  readonly kind: HeadKind;
  readonly activation: HeadActivation;
  readonly loss: LossFunction;
  constructor(
    private readonly def: HeadKindDefinition,
    readonly spec: HeadSpec,
    readonly units: number,
    loss?: string | CustomLossFn,
  ) {
    // Head.kind is typed with the built-in kinds; a registered kind is any string.
    this.kind = def.kind as HeadKind;
    this.activation = def.activation;
    this.loss = lossFor(loss ?? spec.loss, def.loss, spec.lossOptions ?? {}, `head "${spec.name}"`);
  }
  get name(): string {
    return this.spec.name;
  }

  /** Config files: one number per row, or a JSON array of `units` numbers. */
  encode(table: Table): EncodedTargets {
    const n = table.length;
    const u = this.units;
    const idx = columnIndex(table, this.spec.column, `target (head "${this.name}")`);
    const values = new Float32Array(n * u);
    const mask = new Float32Array(n);
    const weight = sampleWeights(table, this.spec, parseNumber);
    for (let i = 0; i < n; i++) {
      const row = parseCellRow(table.data[idx].get(i), u);
      if (row === null) {
        weight[i] = 0;
        continue;
      }
      if (row === undefined) throw new MultilossError('data', `${describeRow(table, i)}, column "${this.spec.column}": expected ${u === 1 ? 'a number' : `a JSON array of ${u} numbers`} (head "${this.name}" is ${this.def.kind})`);
      values.set(row, i * u);
      mask[i] = 1;
    }
    return this.encodeLabels(values, mask, weight);
  }

  encodeLabels(values: Float32Array, mask: Float32Array, weight: Float32Array): EncodedTargets {
    const y = this.def.encode ? this.def.encode(values, this.units) : values;
    if (y.length !== values.length) throw new MultilossError('config', `head kind "${this.def.kind}": encode returned ${y.length} values for ${values.length}`);
    return { y, yMetric: values, mask, weight };
  }

  toMetricSpace(output: Float32Array): Float32Array {
    return this.def.toMetricSpace ? this.def.toMetricSpace(output, this.units) : output;
  }

  decode(output: Float32Array, row: number): HeadPrediction {
    if (this.def.decode) return this.def.decode(output, row, this.units) as HeadPrediction;
    return (this.units === 1 ? output[row] : Array.from(output.subarray(row * this.units, (row + 1) * this.units))) as HeadPrediction;
  }

  createMetrics(): StreamingMetric[] {
    const m = this.def.metrics;
    if (typeof m === 'function') return m();
    return metricsOf(m, `head "${this.name}"`);
  }

  toJSON(): HeadJSON {
    return { spec: this.spec };
  }
}

/** null: missing; undefined: not parseable. */
function parseCellRow(cell: Cell, units: number): number[] | null | undefined {
  if (cell === null) return null;
  if (typeof cell === 'number') return Number.isNaN(cell) ? null : units === 1 && Number.isFinite(cell) ? [cell] : undefined;
  if (typeof cell === 'boolean') return units === 1 ? [cell ? 1 : 0] : undefined;
  const s = String(cell).trim();
  if (s === '') return null;
  if (units === 1) {
    const v = parseNumber(s);
    return v === null ? undefined : [v];
  }
  try {
    const a = JSON.parse(s) as unknown;
    if (Array.isArray(a) && a.length === units && a.every((v) => typeof v === 'number' && Number.isFinite(v))) return a as number[];
  } catch {
    // not JSON
  }
  return undefined;
}

// ------------------------------------------------------------------ plans

/** What is known about one head before any data is read. */
export interface HeadPlan {
  name: string;
  config: HeadConfig;
  kind: string;
  units: number;
  activation: HeadActivation;
  classes?: string[];
  definition?: HeadKindDefinition;
}

const ACTIVATION_OF: Record<string, HeadActivation> = {
  classification: 'softmax',
  binary: 'sigmoid',
  multilabel: 'sigmoid',
  regression: 'linear',
  count: 'linear',
};

/**
 * Resolves a head config against its output: kind, units and activation.
 * `width` is the output's width when the model tells it.
 */
export function planHead(name: string, config: HeadConfig, width: number | undefined): HeadPlan {
  const where = `head "${name}"`;
  if (!config || typeof config !== 'object' || typeof config.kind !== 'string') throw new MultilossError('config', `${where}: expected { kind, … }`);
  const kind = config.kind;
  const definition = DEFINITIONS.get(kind);
  if (!BUILT_IN_KINDS.includes(kind) && !definition) {
    throw new MultilossError('config', `${where}: unknown head kind "${kind}"; valid kinds: ${[...BUILT_IN_KINDS, ...DEFINITIONS.keys()].join(', ')} (registerHeadKind adds one)`);
  }
  const check = (units: number, what: string) => {
    if (width !== undefined && width !== units) throw new MultilossError('config', `${where}: ${what} needs ${units} output unit${units === 1 ? '' : 's'}, the model's output has ${width}`);
    return units;
  };
  const classes = config.classes ? [...config.classes] : undefined;
  if (classes && new Set(classes).size !== classes.length) throw new MultilossError('config', `${where}: classes has duplicates`);
  switch (kind) {
    case 'classification': {
      const k = classes?.length ?? config.units ?? width;
      if (k === undefined) throw new MultilossError('config', `${where}: give classes (or units): the output width is not known`);
      if (k < 2) throw new MultilossError('config', `${where}: classification needs at least 2 classes, got ${k}`);
      check(k, classes ? `${k} classes` : 'classification');
      return { name, config, kind, units: k, activation: 'softmax', classes: classes ?? Array.from({ length: k }, (_, i) => String(i)) };
    }
    case 'binary': {
      if (classes && classes.length !== 2) throw new MultilossError('config', `${where}: a binary head's classes are [negative, positive], got ${classes.length}`);
      check(1, 'a binary head (one sigmoid unit)');
      return { name, config, kind, units: 1, activation: 'sigmoid', classes: classes ?? ['0', '1'] };
    }
    case 'multilabel': {
      const k = classes?.length ?? config.units ?? width;
      if (k === undefined) throw new MultilossError('config', `${where}: give classes (or units): the output width is not known`);
      check(k, classes ? `${k} labels` : 'multilabel');
      return { name, config, kind, units: k, activation: 'sigmoid', classes: classes ?? Array.from({ length: k }, (_, i) => String(i)) };
    }
    case 'regression':
    case 'count':
      check(1, `a ${kind} head`);
      return { name, config, kind, units: 1, activation: ACTIVATION_OF[kind] };
    default: {
      const def = definition as HeadKindDefinition;
      const units = config.units ?? width ?? def.units ?? 1;
      check(units, `kind "${kind}"`);
      return { name, config, kind, units, activation: def.activation, definition: def };
    }
  }
}

// ------------------------------------------------------------------ labels

const isMissing = (v: unknown) => v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v));

/** A label reader for the plan's kind (see `LabelInput`). */
export function labelReader(plan: HeadPlan): LabelReader {
  const { name, units: u, kind } = plan;
  const classes = plan.classes ?? [];
  const index = new Map(classes.map((c, i) => [c, i]));
  const where = (row: number) => `labels of output "${name}", row ${row}`;
  const classIndex = (v: unknown, row: number): number => {
    if (typeof v === 'string') {
      const c = index.get(v);
      if (c === undefined) throw new MultilossError('data', `${where(row)}: class "${v}" is not one of: ${classes.slice(0, 20).join(', ')}`);
      return c;
    }
    if (typeof v === 'boolean' && kind === 'binary') return v ? 1 : 0;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= classes.length) {
      throw new MultilossError('data', `${where(row)}: ${JSON.stringify(v)} is not a class index 0…${classes.length - 1}${kind === 'binary' ? ', a boolean' : ''} or a class name`);
    }
    return v;
  };
  /** One entry (scalar or row) into out[i*u … (i+1)*u]; false when missing. */
  const entry = (v: unknown, i: number, out: Float32Array): boolean => {
    if (isMissing(v)) return false;
    const base = i * u;
    const isRow = Array.isArray(v) || ArrayBuffer.isView(v);
    if (kind === 'multilabel' && isRow && (v as unknown[]).length > 0 && typeof (v as unknown[])[0] === 'string') {
      for (const label of v as string[]) out[base + classIndex(label, i)] = 1;
      return true;
    }
    if (kind === 'multilabel' && isRow && (v as unknown[]).length === 0) return true;
    if (isRow) {
      const row = v as ArrayLike<unknown>;
      if (row.length !== u) throw new MultilossError('data', `${where(i)}: a row of ${row.length} values, the head has ${u} unit${u === 1 ? '' : 's'}`);
      for (let k = 0; k < u; k++) {
        const x = row[k];
        if (isMissing(x)) return false;
        if (typeof x !== 'number' && typeof x !== 'boolean') throw new MultilossError('data', `${where(i)}: ${JSON.stringify(x)} is not a number`);
        if (typeof x === 'number' && beyondFloat32(x)) throw new MultilossError('data', `${where(i)}: ${x} ${BEYOND_FLOAT32}`);
        out[base + k] = Number(x);
      }
      return checkRow(out, base, i);
    }
    if (kind === 'classification') {
      out[base + classIndex(v, i)] = 1;
      return true;
    }
    if (kind === 'binary') {
      out[base] = classIndex(v, i);
      return true;
    }
    if (u !== 1) throw new MultilossError('data', `${where(i)}: ${JSON.stringify(v)}; the head has ${u} units, give a row of ${u} values`);
    if (typeof v === 'boolean') out[base] = v ? 1 : 0;
    else if (typeof v === 'number') {
      if (beyondFloat32(v)) throw new MultilossError('data', `${where(i)}: ${v} ${BEYOND_FLOAT32}`);
      out[base] = v;
    }
    else throw new MultilossError('data', `${where(i)}: ${JSON.stringify(v)} is not a number`);
    return checkRow(out, base, i);
  };
  const checkRow = (out: Float32Array, base: number, i: number): boolean => {
    for (let k = 0; k < u; k++) {
      const x = out[base + k];
      if (!Number.isFinite(x)) throw new MultilossError('data', `${where(i)}: ${x} is not a finite number`);
      if ((kind === 'binary' || kind === 'multilabel') && x !== 0 && x !== 1) throw new MultilossError('data', `${where(i)}: ${x}; ${kind} labels are 0 or 1`);
      if (kind === 'classification' && x < 0) throw new MultilossError('data', `${where(i)}: ${x}; a class-probability row holds values ≥ 0`);
      if (kind === 'count' && x < 0) throw new MultilossError('data', `${where(i)}: count ${x} is negative`);
    }
    return true;
  };
  return {
    name,
    units: u,
    read(labels: LabelInput, n: number, out: Float32Array, present: Uint8Array) {
      const numeric = labels instanceof Object && !Array.isArray(labels);
      if (numeric) {
        // Tensor or typed array: n values (indices / scalars) or n × units.
        const { values, shape } = flattenNumeric(labels, `labels of output "${name}"`);
        const width = values.length / Math.max(1, n);
        if (shape[0] !== n && !(shape.length === 1 && values.length === n * u)) {
          throw new MultilossError('data', `labels of output "${name}": shape [${shape.join(', ')}] for ${n} rows`);
        }
        if (width !== 1 && width !== u) throw new MultilossError('data', `labels of output "${name}": ${width} values per row; expected 1${u !== 1 ? ` or ${u}` : ''}`);
        for (let i = 0; i < n; i++) {
          const v = width === 1 ? values[i] : values.subarray(i * u, (i + 1) * u);
          present[i] = entry(width === 1 && kind !== 'classification' && kind !== 'binary' && u !== 1 ? [v] : v, i, out) ? 1 : 0;
        }
        return;
      }
      const list = labels as readonly unknown[];
      if (list.length !== n) throw new MultilossError('data', `labels of output "${name}": ${list.length} labels for ${n} rows`);
      for (let i = 0; i < n; i++) present[i] = entry(list[i], i, out) ? 1 : 0;
    },
  };
}

// ------------------------------------------------------------------ heads

/** Applies extra metrics and a loss function to a built-in head, delegating everything else. */
function extend(head: Head, extras: readonly MetricInput[] | undefined, loss: LossFunction | undefined): Head {
  if (!extras?.length && !loss) return head;
  return {
    get name() {
      return head.name;
    },
    kind: head.kind,
    spec: head.spec,
    units: head.units,
    activation: head.activation,
    loss: loss ?? head.loss,
    encode: (table) => head.encode(table),
    toMetricSpace: (output) => head.toMetricSpace(output),
    decode: (output, row) => head.decode(output, row),
    createMetrics: () => {
      const base = head.createMetrics();
      const names = new Set(base.map((m) => m.name));
      return [...base, ...metricsOf(extras, `head "${head.name}"`).filter((m) => !names.has(m.name))];
    },
    toJSON: () => head.toJSON(),
  };
}

/** A head built by the API: the Head the trainer uses plus how it encodes labels. */
export interface BuiltHead {
  head: Head;
  encode(raw: RawData['labels'][number]): EncodedTargets;
}

/** One output's labels as read from the data (n × units values, mask, sample weight). */
type HeadLabels = RawData['labels'][number];

/**
 * What a head is fitted on, gathered from its training labels chunk by chunk so that a stream
 * never has to hold them: the labelled rows' count and sum, Σ(v − mean)² (a second pass, only
 * for a regression head standardized without a given std) and the class counts. Rows are
 * added in the data's order, so the figures are the same as over the labels in one array.
 */
export class LabelStatistics {
  count = 0;
  sum = 0;
  squares = 0;
  readonly classCounts: number[];
  constructor(private readonly plan: HeadPlan) {
    this.classCounts = (plan.classes ?? []).map(() => 0);
  }

  /** The statistics of labels held in memory (both passes). */
  static of(plan: HeadPlan, labels: HeadLabels): LabelStatistics {
    const stats = new LabelStatistics(plan);
    stats.add(labels);
    if (stats.needsSquares) stats.addSquares(labels);
    return stats;
  }

  /** Whether the head standardizes its labels (regression with `standardize`, or `mean`/`std` given). */
  get standardizes(): boolean {
    const c = this.plan.config;
    return this.plan.kind === 'regression' && (c.standardize ?? (c.mean !== undefined || c.std !== undefined));
  }

  /** Whether building the head needs `addSquares` after `add` (its std is fitted). */
  get needsSquares(): boolean {
    return this.standardizes && this.plan.config.std === undefined;
  }

  get mean(): number {
    return this.count > 0 ? this.sum / this.count : 0;
  }

  /** First pass: rows `rows` of `labels` (all when absent). */
  add(labels: HeadLabels, rows?: readonly number[]): void {
    const u = this.plan.units;
    const binary = this.plan.kind === 'binary';
    const counted = this.classCounts.length > 0;
    const n = rows ? rows.length : labels.mask.length;
    for (let j = 0; j < n; j++) {
      const i = rows ? rows[j] : j;
      if (!labels.mask[i]) continue;
      this.count++;
      if (u === 1) this.sum += labels.values[i];
      if (!counted) continue;
      if (binary) this.classCounts[labels.values[i] ? 1 : 0]++;
      else {
        let best = 0;
        for (let k = 1; k < u; k++) if (labels.values[i * u + k] > labels.values[i * u + best]) best = k;
        this.classCounts[best]++;
      }
    }
  }

  /** Second pass (after every `add`): Σ(v − mean)² over the same rows. */
  addSquares(labels: HeadLabels, rows?: readonly number[]): void {
    const mean = this.mean;
    const n = rows ? rows.length : labels.mask.length;
    for (let j = 0; j < n; j++) {
      const i = rows ? rows[j] : j;
      if (labels.mask[i]) this.squares += (labels.values[i] - mean) ** 2;
    }
  }
}

/**
 * Builds the head of a plan, fitting what the training labels decide
 * (regression mean/std, 'balanced' class weights).
 */
export function buildHead(plan: HeadPlan, train: HeadLabels | LabelStatistics): BuiltHead {
  const stats = train instanceof LabelStatistics ? train : LabelStatistics.of(plan, train);
  const { name, config: c, kind } = plan;
  const where = `head "${name}"`;
  const lossName = typeof c.loss === 'string' ? c.loss : undefined;
  const lossFn = typeof c.loss === 'function' ? customLoss(c.loss.name || 'custom', c.loss, where, {}, c.lossOptions ?? {}) : undefined;
  const spec: HeadSpec = {
    name,
    column: name,
    kind: kind as HeadKind,
    loss: lossName,
    lossOptions: c.lossOptions,
    weight: c.weight,
    classWeights: c.classWeights,
    threshold: c.threshold,
    classes: plan.classes,
  };
  if (c.weight !== undefined && !(Number.isFinite(c.weight) && c.weight >= 0)) throw new MultilossError('config', `${where}: weight must be a finite number ≥ 0, got ${c.weight}`);
  const u = plan.units;
  let head: Head;
  let y: ((values: Float32Array) => Float32Array) | undefined;
  let classWeight: ((values: Float32Array, i: number) => number) | undefined;
  switch (kind) {
    case 'classification':
    case 'binary': {
      const classes = plan.classes as string[];
      const cw = resolveClassWeights(spec, classes, stats.classCounts);
      head = kind === 'classification' ? new ClassificationHead(spec, classes, cw) : new BinaryHead(spec, [classes[0], classes[1]], cw);
      if (cw) {
        const w = classes.map((cl) => cw[cl]);
        classWeight =
          kind === 'binary'
            ? (v, i) => w[v[i] ? 1 : 0]
            : (v, i) => {
                let best = 0;
                for (let k = 1; k < u; k++) if (v[i * u + k] > v[i * u + best]) best = k;
                return w[best];
              };
      }
      break;
    }
    case 'multilabel':
      if (c.classWeights !== undefined) throw new MultilossError('config', `${where}: classWeights is for classification and binary heads`);
      head = new MultilabelHead(spec, plan.classes as string[]);
      break;
    case 'regression': {
      if (c.classWeights !== undefined) throw new MultilossError('config', `${where}: classWeights is for classification and binary heads`);
      let mean = 0;
      let std = 1;
      if (stats.standardizes) {
        const fitted = stats.mean;
        const fittedStd = stats.count > 0 ? Math.sqrt(stats.squares / stats.count) : 1;
        mean = c.mean ?? fitted;
        std = c.std ?? (fittedStd > 0 && Number.isFinite(fittedStd) ? fittedStd : 1);
      } else if (c.mean !== undefined || c.std !== undefined) {
        throw new MultilossError('config', `${where}: mean/std are for standardize: true (remove standardize: false)`);
      }
      if (!(std > 0) || !Number.isFinite(std) || !Number.isFinite(mean)) throw new MultilossError('config', `${where}: mean must be finite and std > 0, got ${mean}, ${std}`);
      const r = new RegressionHead(spec, mean, std);
      head = r;
      y = (values) => values.map((v) => (v - r.mean) / r.std);
      break;
    }
    case 'count':
      if (c.classWeights !== undefined) throw new MultilossError('config', `${where}: classWeights is for classification and binary heads`);
      head = new CountHead(spec);
      break;
    default: {
      if (c.classWeights !== undefined) throw new MultilossError('config', `${where}: classWeights is for classification and binary heads`);
      const def = plan.definition as HeadKindDefinition;
      head = new DefinedHead(def, spec, u, c.loss);
      if (def.encode) {
        const encode = def.encode;
        y = (values) => {
          const out = encode(values, u);
          if (out.length !== values.length) throw new MultilossError('config', `head kind "${def.kind}": encode returned ${out.length} values for ${values.length}`);
          return out;
        };
      }
    }
  }
  const built = extend(head, c.metrics, plan.definition ? undefined : lossFn);
  return {
    head: built,
    encode(raw) {
      const rows = raw.mask.length;
      const weight = new Float32Array(rows);
      for (let i = 0; i < rows; i++) weight[i] = raw.mask[i] * raw.sampleWeight[i] * (raw.mask[i] && classWeight ? classWeight(raw.values, i) : 1);
      const yMetric = raw.values;
      let yy = y ? y(yMetric) : yMetric;
      if (y) {
        yy = Float32Array.from(yy);
        for (let i = 0; i < rows; i++) if (!raw.mask[i]) yy.fill(0, i * u, (i + 1) * u);
      }
      return { y: yy, yMetric, mask: raw.mask, weight };
    },
  };
}
