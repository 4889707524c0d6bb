import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { MultilossError } from '../errors.js';
import type { ModelCheckpoint, ResumePoint } from '../training/fit.js';
import type { NamedTensor, TrainerState } from '../training/trainer.js';
import { readFileChecked, readTextChecked } from './files.js';
import { loadModel, MAX_JSON_BYTES, MAX_WEIGHT_BYTES, recoverInterruptedSave, saveModel } from './model-dir.js';

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
export function checkpointWriter(dir: string, config: Record<string, unknown>): (checkpoint: ModelCheckpoint) => Promise<void> {
  const root = resolve(dir);
  return async (ck) => {
    const { data, specs } = await encodeOptimizer(ck.optimizer);
    const trainer: TrainerFile = { format: CHECKPOINT_FORMAT, version: 1, reason: ck.reason, savedAt: new Date().toISOString(), config, state: ck.state };
    const files = { [TRAINER_FILE]: JSON.stringify(trainer), [OPTIMIZER_FILE]: data, [OPTIMIZER_SPECS_FILE]: specs };
    // The best epoch is also the newest state at that moment: both are kept current.
    if (ck.reason === 'best') await saveModel(ck.model, join(root, 'best'), files);
    await saveModel(ck.model, join(root, 'last'), files);
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
  const last = lastCheckpointDir(dir);
  // A kill between the two renames of a checkpoint swap leaves the new one under its ready name.
  recoverInterruptedSave(last);
  const trainerPath = join(last, TRAINER_FILE);
  if (!existsSync(trainerPath)) {
    throw new MultilossError('io', `${dir} is not a checkpoint: no ${TRAINER_FILE} in it or in ${join(dir, 'last')}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readTextChecked(trainerPath, 'checkpoint file', MAX_JSON_BYTES));
  } catch (e) {
    if (e instanceof MultilossError) throw e;
    throw new MultilossError('model', `${trainerPath}: not valid JSON; the checkpoint is damaged`);
  }
  const check = trainerFileSchema.safeParse(parsed);
  if (!check.success) throw new MultilossError('model', `${trainerPath}: not a multiloss checkpoint (${check.error.issues[0].path.join('.') || 'top level'}: ${check.error.issues[0].message})`);
  const file = parsed as TrainerFile;
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
  tf.dispose([...ck.resume.weights, ...ck.resume.optimizer.map((o) => o.tensor), ...(ck.resume.bestWeights ?? [])]);
}
