import * as tf from '@tensorflow/tfjs-core';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as z from 'zod';
import { MultilossError } from '../errors.js';
import type { MultilossModel } from '../model/multiloss-model.js';
import type { SeparateCheckpoint, SeparateResumePoint } from '../training/fit-separate.js';
import type { NamedTensor, ResumePoint, TrainerState, TrainingCheckpoint } from '../training/types.js';
import { ioMessage, readFileChecked, readTextChecked, writeFileAtomic } from './files.js';
import { loadModel, MAX_JSON_BYTES, MAX_WEIGHT_BYTES, recoverInterruptedSave, saveModel } from './model-dir.js';
import { subModelDir } from './separate-dir.js';

/**
 * Checkpoints on disk. A checkpoint directory holds `last/` (the newest
 * checkpoint) and `best/` (the best epoch, with early stopping); each is a
 * complete model directory (it loads and predicts like any saved model) plus
 * `trainer.json` (loop position, RNG, strategy state, history, the run's
 * configuration) and the optimizer's slots (`optimizer.bin` + `optimizer.json`).
 * Each is written under a temporary name and renamed, so a kill at any moment
 * leaves the previous checkpoint intact.
 */
export const TRAINER_FILE = 'trainer.json';
export const OPTIMIZER_FILE = 'optimizer.bin';
export const OPTIMIZER_SPECS_FILE = 'optimizer.json';
export const CHECKPOINT_FORMAT = 'multiloss-checkpoint';

export interface TrainerFile {
  format: typeof CHECKPOINT_FORMAT;
  version: 1;
  reason: string;
  savedAt: string;
  /** The run's configuration as given (file paths made absolute), to resume without it. */
  config: Record<string, unknown>;
  state: TrainerState;
}

const trainerFileSchema = z.looseObject({
  format: z.literal(CHECKPOINT_FORMAT),
  version: z.literal(1),
  config: z.looseObject({}),
  state: z.looseObject({ version: z.literal(1), epoch: z.number().int().min(0), step: z.number().int().min(0), batch: z.number().int().min(0), history: z.array(z.unknown()) }),
});

async function encodeOptimizer(optimizer: NamedTensor[]): Promise<{ data: Uint8Array; specs: string }> {
  const { data, specs } = await tf.io.encodeWeights(optimizer.map((w) => ({ name: w.name, tensor: w.tensor })));
  const buffer = Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data;
  return { data: new Uint8Array(buffer), specs: JSON.stringify(specs) };
}

/** Returns a writer for `fitModel`'s `checkpoint` option that keeps `dir/last` and `dir/best`. */
export function checkpointWriter(dir: string, config: Record<string, unknown>): (checkpoint: TrainingCheckpoint<MultilossModel>) => Promise<void> {
  const root = resolve(dir);
  return async (ck) => {
    // Runs from a configuration attach the loadable model (TrainingCheckpoint.model).
    const model = ck.model;
    if (!model) throw new MultilossError('config', 'checkpointWriter: the checkpoint carries no model (fitModel, fitModelStream and fitSeparate attach one)');
    const { data, specs } = await encodeOptimizer(ck.optimizer);
    const trainer: TrainerFile = { format: CHECKPOINT_FORMAT, version: 1, reason: ck.reason, savedAt: new Date().toISOString(), config, state: ck.state };
    const files = { [TRAINER_FILE]: JSON.stringify(trainer), [OPTIMIZER_FILE]: data, [OPTIMIZER_SPECS_FILE]: specs };
    // The best epoch is also the newest state at that moment: both are kept current.
    if (ck.reason === 'best') await saveModel(model, join(root, 'best'), files);
    await saveModel(model, join(root, 'last'), files);
  };
}

/** Where a checkpoint directory (or its `last/` itself) keeps the newest checkpoint. */
export function lastCheckpointDir(dir: string): string {
  const root = resolve(dir);
  if (existsSync(join(root, TRAINER_FILE))) return root;
  return join(root, 'last');
}

export interface LoadedCheckpoint {
  config: Record<string, unknown>;
  resume: ResumePoint;
  dir: string;
}

/** Reads a checkpoint for `--resume`; the error says when the directory is not one. */
export async function readCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  if (existsSync(join(resolve(dir), SEPARATE_CHECKPOINT_FILE))) {
    throw new MultilossError('io', `${dir} holds the checkpoints of separate models: read it with readSeparateCheckpoint (or readAnyCheckpoint)`);
  }
  const last = lastCheckpointDir(dir);
  // A kill between the two renames of a checkpoint swap leaves the new one under its ready name.
  recoverInterruptedSave(last);
  const trainerPath = join(last, TRAINER_FILE);
  if (!existsSync(trainerPath)) {
    throw new MultilossError('io', `${dir} is not a checkpoint: no ${TRAINER_FILE} in it or in ${join(dir, 'last')}`);
  }
  const file = readCheckpointFile<TrainerFile>(trainerPath, trainerFileSchema, 'multiloss checkpoint');
  const model = await loadModel(last);
  const weights = model.network.model.getWeights().map((w) => tf.keep(tf.clone(w)));
  const preprocessing = model.preprocessor.toJSON();
  model.dispose();
  const specs = JSON.parse(readTextChecked(join(last, OPTIMIZER_SPECS_FILE), 'checkpoint file', MAX_JSON_BYTES)) as tf.io.WeightsManifestEntry[];
  const buf = readFileChecked(join(last, OPTIMIZER_FILE), 'checkpoint file', MAX_WEIGHT_BYTES);
  const decoded = tf.io.decodeWeights(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer, specs);
  // setWeights wants the optimizer's own order: the order the specs were written in.
  const optimizer: NamedTensor[] = specs.map((s) => ({ name: s.name, tensor: tf.keep(decoded[s.name]) }));
  let bestWeights: tf.Tensor[] | undefined;
  const bestDir = join(resolve(dir), 'best');
  if (file.state.earlyStopping && last !== bestDir && existsSync(join(bestDir, TRAINER_FILE))) {
    const best = await loadModel(bestDir);
    bestWeights = best.network.model.getWeights().map((w) => tf.keep(tf.clone(w)));
    best.dispose();
  }
  return { config: file.config, dir: last, resume: { weights, state: file.state, optimizer, bestWeights, preprocessing } };
}

/** Frees the tensors a loaded checkpoint holds. */
export function disposeCheckpoint(ck: LoadedCheckpoint): void {
  disposeResumePoint(ck.resume);
}

function disposeResumePoint(r: ResumePoint): void {
  tf.dispose([...(r.weights ?? []), ...r.optimizer.map((o) => o.tensor), ...(r.bestWeights ?? [])]);
}

/**
 * Checkpoints of separate models (`approach: separate`). The directory holds
 * `separate.json` (the run's configuration and the sub-models' directory
 * names) and one sub-directory per target, named as in a saved separate model
 * (`0-species`, …). The sub-model in training writes `last/` and `best/` there
 * exactly as a joint model does; a finished sub-model is saved as `model/`
 * (its `last/` and `best/` are then removed). A resumed run takes the finished
 * sub-models over, continues the first unfinished one from its `last/` (or
 * starts it afresh when it has none) and trains the rest.
 */
export const SEPARATE_CHECKPOINT_FILE = 'separate.json';
export const SEPARATE_CHECKPOINT_FORMAT = 'multiloss-separate-checkpoint';
const FINISHED_DIR = 'model';

export interface SeparateCheckpointFile {
  format: typeof SEPARATE_CHECKPOINT_FORMAT;
  version: 1;
  /** The run's configuration as given (file paths made absolute), to resume without it. */
  config: Record<string, unknown>;
  /** One entry per target, in the configuration's order. */
  models: { head: string; dir: string }[];
}

const separateFileSchema = z.looseObject({
  format: z.literal(SEPARATE_CHECKPOINT_FORMAT),
  version: z.literal(1),
  config: z.looseObject({}),
  models: z.array(z.strictObject({ head: z.string().min(1), dir: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'a plain sub-directory name') })).min(1),
});

/** Returns a writer for `fitSeparate`'s `checkpoint` option (see SEPARATE_CHECKPOINT_FILE). `heads` are the configuration's head names, in order. */
export function separateCheckpointWriter(dir: string, config: Record<string, unknown>, heads: readonly string[]): (checkpoint: SeparateCheckpoint) => Promise<void> {
  const root = resolve(dir);
  const models = heads.map((head, k) => ({ head, dir: subModelDir(k, head) }));
  const writers = new Map<number, (ck: TrainingCheckpoint<MultilossModel>) => Promise<void>>();
  let described = false;
  const describe = () => {
    if (described) return;
    try {
      mkdirSync(root, { recursive: true });
    } catch (e) {
      throw new MultilossError('io', `cannot create ${root}: ${ioMessage(e)}`);
    }
    const file: SeparateCheckpointFile = { format: SEPARATE_CHECKPOINT_FORMAT, version: 1, config, models };
    writeFileAtomic(join(root, SEPARATE_CHECKPOINT_FILE), JSON.stringify(file));
    described = true;
  };
  return async (ck) => {
    const entry = models[ck.index];
    if (!entry || entry.head !== ck.head) throw new MultilossError('config', `checkpoint of model ${ck.index + 1} (head "${ck.head}"): not a target of this run`);
    describe();
    const sub = join(root, entry.dir);
    if (ck.kind === 'checkpoint') {
      let write = writers.get(ck.index);
      if (!write) writers.set(ck.index, (write = checkpointWriter(sub, config)));
      await write(ck.checkpoint);
      return;
    }
    await saveModel(ck.model, join(sub, FINISHED_DIR));
    // The finished model supersedes its training checkpoints.
    for (const name of ['last', 'best']) rmSync(join(sub, name), { recursive: true, force: true });
  };
}

export interface LoadedSeparateCheckpoint {
  kind: 'separate';
  config: Record<string, unknown>;
  resume: SeparateResumePoint;
  /** The checkpoint directory (holding separate.json). */
  dir: string;
  /** Sub-models in the run. */
  count: number;
}

/** Reads a checkpoint's JSON file and checks it against its schema; `what` names the expected kind in the error. */
function readCheckpointFile<T>(path: string, schema: z.ZodType, what: string): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readTextChecked(path, 'checkpoint file', MAX_JSON_BYTES));
  } catch (e) {
    if (e instanceof MultilossError) throw e;
    throw new MultilossError('model', `${path}: not valid JSON; the checkpoint is damaged`);
  }
  const check = schema.safeParse(parsed);
  if (!check.success) throw new MultilossError('model', `${path}: not a ${what} (${check.error.issues[0].path.join('.') || 'top level'}: ${check.error.issues[0].message})`);
  return parsed as T;
}

/** Reads the checkpoints of separate models for `--resume`: the finished sub-models and the next one's last checkpoint. */
export async function readSeparateCheckpoint(dir: string): Promise<LoadedSeparateCheckpoint> {
  const root = resolve(dir);
  const path = join(root, SEPARATE_CHECKPOINT_FILE);
  if (!existsSync(path)) throw new MultilossError('io', `${dir} is not a checkpoint of separate models: no ${SEPARATE_CHECKPOINT_FILE} in it`);
  const file = readCheckpointFile<SeparateCheckpointFile>(path, separateFileSchema, 'multiloss checkpoint of separate models');
  const done: MultilossModel[] = [];
  let current: ResumePoint | undefined;
  try {
    for (const entry of file.models) {
      const sub = join(root, entry.dir);
      const finished = join(sub, FINISHED_DIR);
      recoverInterruptedSave(finished);
      if (existsSync(finished)) {
        const model = await loadModel(finished);
        done.push(model);
        if (model.heads.length !== 1 || model.heads[0].name !== entry.head) {
          throw new MultilossError('model', `${finished}: expected the model of head "${entry.head}", found heads ${model.heads.map((h) => `"${h.name}"`).join(', ')}`);
        }
        continue;
      }
      recoverInterruptedSave(join(sub, 'last'));
      if (existsSync(join(sub, 'last', TRAINER_FILE))) current = (await readCheckpoint(sub)).resume;
      break;
    }
  } catch (e) {
    for (const m of done) m.dispose();
    throw e;
  }
  return { kind: 'separate', config: file.config, resume: { done, current }, dir: root, count: file.models.length };
}

/** A checkpoint of either approach, for `--resume`. */
export type AnyCheckpoint = (LoadedCheckpoint & { kind: 'joint' }) | LoadedSeparateCheckpoint;

/** Reads a joint or a separate-models checkpoint directory, whichever `dir` is. */
export async function readAnyCheckpoint(dir: string): Promise<AnyCheckpoint> {
  if (existsSync(join(resolve(dir), SEPARATE_CHECKPOINT_FILE))) return readSeparateCheckpoint(dir);
  return { kind: 'joint', ...(await readCheckpoint(dir)) };
}

/** Where a resumed run continues, for its first log line. */
export function resumeNote(ck: AnyCheckpoint): string {
  if (ck.kind === 'joint') return `resuming after epoch ${ck.resume.state.epoch}`;
  const k = ck.resume.done.length;
  if (k >= ck.count) return `resuming: all ${ck.count} models are trained`;
  return `resuming: ${k} of ${ck.count} models trained, model ${k + 1} ${ck.resume.current ? `continues after epoch ${ck.resume.current.state.epoch}` : 'starts afresh'}`;
}

/** Frees what a loaded checkpoint of either approach holds (the finished sub-models only when `models` is true: a resumed run takes them over). */
export function disposeAnyCheckpoint(ck: AnyCheckpoint, models = false): void {
  if (ck.kind === 'joint') return disposeCheckpoint(ck);
  const r = ck.resume.current;
  if (r) disposeResumePoint(r);
  if (models) for (const m of ck.resume.done) m.dispose();
}
