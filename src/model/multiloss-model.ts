import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as z from 'zod';
import type { ResolvedConfig } from '../config/resolve.js';
import { normalizeMissing } from '../data/missing.js';
import { FeaturePreprocessor, type PreprocessorJSON } from '../data/preprocess.js';
import { rowsToTable } from '../data/json.js';
import type { RowTable, Table } from '../data/table.js';
import { asTable } from '../data/table-build.js';
import { MultilossError } from '../errors.js';
import type { EncodedData } from '../training/data.js';
import type { History, SplitLog } from '../training/history.js';
import type { HeadUpdate } from '../training/diagnostics.js';
import type { TrainingStop } from '../training/early-stopping.js';
import { evaluateEncoded } from '../training/trainer.js';
import { FORMAT_VERSION, VERSION } from '../version.js';
import { headFromJSON, type Head, type HeadJSON, type HeadPrediction } from './heads/index.js';
import type { DenseBlockSpec } from './blocks.js';
import { architectureFactory, type ArchitectureSpec } from './architectures/index.js';
import type { TrainableNetwork } from './trainable-network.js';
import type { ImagePreprocessing } from '../data/images/pixels.js';

/** One row's decoded outputs, by head name. */
export type Prediction = Record<string, HeadPrediction>;

/** What `evaluate` returns: the same shape as a history split, plus row counts. */
export interface Evaluation extends SplitLog {
  rows: number;
  labelled: Record<string, number>;
}

/** The contents of multiloss.json. */
export interface MultilossJSON {
  format: 'multiloss';
  formatVersion: number;
  libraryVersion: string;
  createdAt: string;
  inputSize: number;
  preprocessing: PreprocessorJSON;
  missingValues: string[];
  heads: HeadJSON[];
  trunk: DenseBlockSpec[];
  config: ResolvedConfig;
  balance: { method: string; state: Record<string, unknown>; weights: number[] };
  parameters: number;
  metrics: { train?: SplitLog; validation?: SplitLog };
  history: History;
  /** How training ended: why, at which epoch, the best epoch (absent in models saved before 0.1.0's early-stopping defaults). */
  stop?: TrainingStop;
  /** Image models: how pixels were read and scaled at training (prediction applies the same; see `imageReadOptions`). */
  images?: ImagePreprocessing;
}

/** The standard tfjs `model.json` contents (topology + weights manifest). */
export interface LayersModelJSON {
  modelTopology: object;
  format: 'layers-model';
  generatedBy: string;
  convertedBy: null;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  /**
   * tfjs's slot for metadata: multiloss puts its own (multiloss.json's contents) under
   * {@link METADATA_KEY}, so that a model.json read on its own (a URL, IndexedDB, a download)
   * still carries heads, encoders and preprocessing. tfjs's loaders ignore it.
   */
  userDefinedMetadata?: { [METADATA_KEY]: MultilossJSON };
}

/** The key of multiloss's metadata in model.json's `userDefinedMetadata`. */
export const METADATA_KEY = 'multiloss';

/** Everything a saved model consists of, independent of where it is stored. */
export interface ModelArtifacts {
  modelJson: LayersModelJSON;
  weightData: ArrayBuffer;
  meta: MultilossJSON;
}

export const WEIGHTS_FILE = 'weights.bin';

export interface ModelInfo {
  /** 'joint': one network with a head per target; 'separate': one model per target (see SeparateModels). */
  approach: 'joint' | 'separate';
  libraryVersion: string;
  createdAt: string;
  parameters: number;
  features: { name: string; type: string }[];
  inputSize: number;
  heads: { name: string; kind: string; column: string; loss: string; units: number; classes?: string[] }[];
  trunk: DenseBlockSpec[];
  /** `weights`: each head's weight in the total loss (1 for gradient methods, whose total is the unweighted sum). */
  balance: { method: string; weights: number[] };
  /** Gradient methods: what the last epoch's updates did to each head (see HeadUpdate). */
  update?: Record<string, HeadUpdate>;
  epochs: number;
  /** How training ended (see `describeStop`); absent for models saved without it. */
  stop?: TrainingStop;
  metrics: MultilossJSON['metrics'];
}

const metaSchema = z.looseObject({
  format: z.literal('multiloss'),
  formatVersion: z.number().int().min(1),
  libraryVersion: z.string(),
  createdAt: z.string(),
  inputSize: z.number().int().min(1),
  preprocessing: z.unknown(),
  missingValues: z.array(z.string()),
  heads: z.array(z.looseObject({ spec: z.looseObject({ name: z.string(), kind: z.string(), column: z.string() }) })).min(1),
  trunk: z.array(z.looseObject({ units: z.number().int().min(1) })),
  config: z.looseObject({}),
  balance: z.looseObject({ method: z.string(), weights: z.array(z.number()) }),
  parameters: z.number(),
  metrics: z.looseObject({}),
  history: z.array(z.unknown()),
});

/**
 * A trained multi-head model: preprocessing, network and heads. Predicts every
 * head at once from raw rows, evaluates, and serialises to artifacts that the
 * Node layer writes as a model directory.
 */
export class MultilossModel {
  constructor(
    readonly network: TrainableNetwork,
    readonly heads: readonly Head[],
    readonly preprocessor: FeaturePreprocessor,
    readonly meta: Omit<MultilossJSON, 'heads' | 'preprocessing' | 'inputSize' | 'trunk' | 'parameters'>,
  ) {}

  /** Turns rows (objects or a parsed table) into the network's input matrix. */
  encodeFeatures(input: Table | RowTable | readonly Record<string, unknown>[]): { table: Table; x: Float32Array } {
    const raw = Array.isArray(input) ? rowsToTable(input as Record<string, unknown>[]) : asTable(input as Table | RowTable);
    const table = normalizeMissing(raw, this.meta.missingValues);
    return { table, x: this.preprocessor.transform(table) };
  }

  /** The saved network's raw outputs (probabilities, standardized values, log-rates), one n×units array per head. */
  predictOutputs(input: Table | RowTable | readonly Record<string, unknown>[], batchSize = 1024): Float32Array[] {
    const { table, x } = this.encodeFeatures(input);
    return this.outputsFor(x, table.length, batchSize);
  }

  private outputsFor(x: Float32Array, n: number, batchSize: number): Float32Array[] {
    const d = this.preprocessor.outputSize;
    const outs = this.heads.map((h) => new Float32Array(n * h.units));
    for (let start = 0; start < n; start += batchSize) {
      const m = Math.min(batchSize, n - start);
      const results = tf.tidy(() => this.network.predict(tf.tensor2d(x.subarray(start * d, (start + m) * d), [m, d])));
      results.forEach((t, h) => {
        outs[h].set(t.dataSync() as Float32Array, start * this.heads[h].units);
        t.dispose();
      });
    }
    for (let h = 0; h < outs.length; h++) {
      if (outs[h].some((v) => !Number.isFinite(v))) {
        throw new MultilossError('model', `head "${this.heads[h].name}" produced a non-finite output; the model is damaged`);
      }
    }
    return outs;
  }

  /** Decoded predictions for every head, one object per row. */
  predict(input: Table | RowTable | readonly Record<string, unknown>[]): Prediction[] {
    const outputs = this.predictOutputs(input);
    const n = outputs.length ? outputs[0].length / this.heads[0].units : 0;
    const rows: Prediction[] = [];
    for (let i = 0; i < n; i++) {
      const p: Prediction = {};
      this.heads.forEach((h, k) => {
        const value = h.decode(outputs[k], i);
        // A finite raw output can still overflow when decoded (e^η of a count head, η·std + mean).
        if (typeof value === 'number' && !Number.isFinite(value)) {
          throw new MultilossError('model', `head "${h.name}", row ${i + 1}: the prediction overflows to ${value} (raw output ${outputs[k][i * h.units]}); the model is damaged or the row is far outside the training data`);
        }
        p[h.name] = value;
      });
      rows.push(p);
    }
    return rows;
  }

  /** Encodes features and every head's targets of a labelled table. */
  encode(input: Table | RowTable): EncodedData {
    const { table, x } = this.encodeFeatures(input);
    return { n: table.length, inputSize: this.preprocessor.outputSize, x, targets: this.heads.map((h) => h.encode(table)) };
  }

  /** Per-head losses and metrics on labelled data (rows missing a head's label are skipped for that head). */
  evaluate(input: Table | RowTable | readonly Record<string, unknown>[]): Evaluation {
    const table = Array.isArray(input) ? rowsToTable(input as Record<string, unknown>[]) : asTable(input as Table | RowTable);
    const data = this.encode(table);
    const split = evaluateEncoded(this.network, this.heads, data, this.meta.balance.weights);
    const labelled: Record<string, number> = {};
    this.heads.forEach((h, k) => (labelled[h.name] = data.targets[k].mask.reduce((a, b) => a + b, 0)));
    return { ...split, rows: data.n, labelled };
  }

  info(): ModelInfo {
    const update = [...this.meta.history].reverse().find((e) => e.update)?.update;
    return {
      approach: 'joint',
      libraryVersion: this.meta.libraryVersion,
      createdAt: this.meta.createdAt,
      parameters: this.network.countParams(),
      features: this.preprocessor.features.map((f) => ({ name: f.name, type: f.type })),
      inputSize: this.preprocessor.outputSize,
      heads: this.heads.map((h) => ({
        name: h.name,
        kind: h.kind,
        column: h.spec.column,
        loss: h.loss.name,
        units: h.units,
        classes: (h.toJSON().classes ?? undefined) as string[] | undefined,
      })),
      trunk: [...this.meta.config.trunk],
      balance: { method: this.meta.balance.method, weights: this.meta.balance.weights },
      ...(update ? { update } : {}),
      epochs: this.meta.history.length,
      ...(this.meta.stop ? { stop: this.meta.stop } : {}),
      metrics: this.meta.metrics,
    };
  }

  toJSON(): MultilossJSON {
    return {
      ...this.meta,
      inputSize: this.preprocessor.outputSize,
      preprocessing: this.preprocessor.toJSON(),
      heads: this.heads.map((h) => h.toJSON()),
      trunk: [...this.meta.config.trunk],
      parameters: this.network.countParams(),
    };
  }

  /** The model.json, weights and multiloss.json contents. */
  async toArtifacts(): Promise<ModelArtifacts> {
    let captured: tf.io.ModelArtifacts | undefined;
    await this.network.model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        captured = artifacts;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    if (!captured?.weightSpecs || !captured.weightData || !captured.modelTopology) throw new Error('tfjs returned incomplete model artifacts');
    const wd = captured.weightData;
    const weightData = Array.isArray(wd) ? tf.io.concatenateArrayBuffers(wd) : wd;
    const meta = this.toJSON();
    return {
      modelJson: {
        modelTopology: captured.modelTopology as object,
        format: 'layers-model',
        generatedBy: captured.generatedBy ?? 'TensorFlow.js tfjs-layers',
        convertedBy: null,
        weightsManifest: [{ paths: [WEIGHTS_FILE], weights: captured.weightSpecs }],
        userDefinedMetadata: { [METADATA_KEY]: meta },
      },
      weightData,
      meta,
    };
  }

  /** Rebuilds a model from its artifacts (already read and size-checked by the caller). */
  static async fromArtifacts(modelJson: unknown, weightData: ArrayBuffer, metaJson: unknown, where = 'model'): Promise<MultilossModel> {
    const meta = validateMeta(metaJson, where);
    const mj = modelJson as Partial<LayersModelJSON> | null;
    if (!mj || typeof mj !== 'object' || !mj.modelTopology || !Array.isArray(mj.weightsManifest)) {
      throw new MultilossError('model', `${where}/model.json is not a tfjs layers model (modelTopology or weightsManifest missing)`);
    }
    const specs = mj.weightsManifest.flatMap((g) => g.weights);
    checkWeightSizes(specs, weightData.byteLength, where);
    let layersModel: tfl.LayersModel;
    try {
      layersModel = await tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: mj.modelTopology, weightSpecs: specs, weightData }));
    } catch (e) {
      throw new MultilossError('model', `${where}/model.json could not be loaded: ${(e as Error).message}`);
    }
    const heads = meta.heads.map((h) => headFromJSON(h));
    const preprocessor = FeaturePreprocessor.fromJSON(meta.preprocessing);
    const architecture: ArchitectureSpec = (meta.config as { architecture?: ArchitectureSpec } | undefined)?.architecture ?? { kind: 'shared' };
    const network = architectureFactory(architecture.kind).fromModel(
      layersModel,
      architecture,
      meta.trunk,
      [preprocessor.outputSize],
      heads.map((h) => ({ name: h.name, units: h.units, activation: h.activation })),
    );
    const { heads: _h, preprocessing: _p, inputSize: _i, trunk: _t, parameters: _n, ...rest } = meta;
    return new MultilossModel(network, heads, preprocessor, rest);
  }

  dispose(): void {
    this.network.dispose();
  }
}

function validateMeta(json: unknown, where: string): MultilossJSON {
  const version = (json as { formatVersion?: unknown } | null)?.formatVersion;
  if (typeof version === 'number' && version > FORMAT_VERSION) {
    throw new MultilossError('model', `${where}/multiloss.json has format version ${version}, but this multiloss (${VERSION}) reads format ${FORMAT_VERSION} at most; upgrade multiloss`);
  }
  const parsed = metaSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new MultilossError('model', `${where}/multiloss.json is malformed at ${issue.path.join('.') || '(top level)'}: ${issue.message}`);
  }
  return parsed.data as unknown as MultilossJSON;
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

/** The weights file must hold exactly what the manifest describes: a short or long file is an error, not a garbage model. */
function checkWeightSizes(specs: tf.io.WeightsManifestEntry[], byteLength: number, where: string): void {
  let expected = 0;
  for (const s of specs) {
    const bytes = DTYPE_BYTES[s.dtype];
    if (!bytes || s.quantization) throw new MultilossError('model', `${where}/model.json: weight "${s.name}" has unsupported dtype ${s.dtype}`);
    if (!Array.isArray(s.shape) || s.shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new MultilossError('model', `${where}/model.json: weight "${s.name}" has an invalid shape`);
    }
    expected += s.shape.reduce((a, b) => a * b, 1) * bytes;
  }
  if (expected !== byteLength) {
    throw new MultilossError('model', `${where}/${WEIGHTS_FILE} has ${byteLength} bytes, the manifest describes ${expected}: the file is truncated or does not belong to this model`);
  }
}

