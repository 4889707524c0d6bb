import { existsSync, lstatSync, mkdirSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { MultilossError } from '../errors.js';
import { METADATA_KEY, MultilossModel, WEIGHTS_FILE } from '../model/multiloss-model.js';
import { modelFromParts } from '../model/model-io.js';
import { fsyncDir, readFileChecked, readTextChecked, temporarySibling, writeFileSynced } from './files.js';

export const MODEL_FILE = 'model.json';
export const META_FILE = 'multiloss.json';
/** JSON files above this size are refused (a real model.json is a few kB). */
export const MAX_JSON_BYTES = 64 * 1024 * 1024;
export const MAX_WEIGHT_BYTES = 2 ** 31 - 1;

/**
 * Saves a model as a directory: model.json + weights.bin (standard tfjs
 * LayersModel format) and multiloss.json, atomically (writeDirectoryAtomically).
 * model.json carries multiloss.json's contents too (userDefinedMetadata), so the
 * directory served over http loads in a page (model/model-io.ts).
 * `extraFiles` are written alongside (checkpoints add the trainer's state).
 */
export async function saveModel(model: MultilossModel, dir: string, extraFiles: Record<string, string | Uint8Array> = {}): Promise<void> {
  const { modelJson, weightData, meta } = await model.toArtifacts();
  await writeDirectoryAtomically(dir, (tmp) => {
    writeFileSynced(join(tmp, WEIGHTS_FILE), new Uint8Array(weightData));
    writeFileSynced(join(tmp, MODEL_FILE), JSON.stringify(modelJson));
    writeFileSynced(join(tmp, META_FILE), JSON.stringify(meta, null, 2));
    for (const [name, data] of Object.entries(extraFiles)) writeFileSynced(join(tmp, name), data);
  });
}

/**
 * Writes a model directory: `fill` writes every file into a temporary sibling
 * directory, which is then renamed into place, so a crash leaves either the
 * previous directory or the new one, never half of one. Errors are one
 * MultilossError naming `dir`; the temporary directory is removed.
 */
export async function writeDirectoryAtomically(dir: string, fill: (tmp: string) => void | Promise<void>): Promise<void> {
  const target = resolve(dir);
  try {
    mkdirSync(dirname(target), { recursive: true });
  } catch (e) {
    throw new MultilossError('io', `cannot create ${dirname(target)}: ${(e as Error).message}`);
  }
  const tmp = temporarySibling(target);
  try {
    mkdirSync(tmp);
    await fill(tmp);
    fsyncDir(tmp);
    // A directory cannot be renamed over another: the old one is moved aside first. The new
    // one waits under a fixed name (`.NAME.ready`) meanwhile, so that a crash between the two
    // renames leaves it findable: recoverInterruptedSave() puts it in place.
    recoverInterruptedSave(target);
    const ready = readySibling(target);
    rmSync(ready, { recursive: true, force: true });
    renameSync(tmp, ready);
    if (existsSync(target)) {
      if (!lstatSync(target).isDirectory()) throw new Error(`${target} exists and is not a directory`);
      const old = temporarySibling(target);
      renameSync(target, old);
      renameSync(ready, target);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(ready, target);
    }
    fsyncDir(dirname(target));
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (e instanceof MultilossError) throw e;
    throw new MultilossError('io', `cannot save model to ${dir}: ${(e as Error).message}`);
  }
}

/** Where a complete new model directory waits while the old one is moved aside (see saveModel). */
function readySibling(target: string): string {
  return join(dirname(target), `.${basename(target)}.ready`);
}

/**
 * Completes a save that was killed between moving the old directory aside and
 * renaming the new one into place: when `dir` is missing but its complete new
 * version waits beside it, that version is renamed into place. Cheap; call it
 * before reading a model or checkpoint directory that is rewritten in place.
 */
export function recoverInterruptedSave(dir: string): void {
  const target = resolve(dir);
  const ready = readySibling(target);
  if (existsSync(target) || !existsSync(ready)) return;
  try {
    renameSync(ready, target);
    fsyncDir(dirname(target));
  } catch {
    // Read-only or raced by another process: loading then reports the missing directory.
  }
}

/**
 * A file of the model directory must be a regular file inside it: a symlink
 * leading out, a FIFO (a read would block forever) or a device (/dev/zero
 * never ends) is refused. A missing file or a directory is left to the reader's
 * own message.
 */
function checkModelFile(path: string): void {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return;
  }
  const root = realpathSync(dirname(path));
  const rel = relative(root, real);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    throw new MultilossError('model', `${path}: a link leading outside the model directory`);
  }
  const st = statSync(real);
  if (!st.isFile() && !st.isDirectory()) throw new MultilossError('model', `${path}: not a regular file`);
}

function parseJsonFile(path: string): unknown {
  checkModelFile(path);
  const text = readTextChecked(path, 'model file', MAX_JSON_BYTES);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new MultilossError('model', `${path}: not valid JSON (${(e as Error).message}); the file is truncated or damaged`);
  }
}

/**
 * Resolves a weight path from model.json inside the model directory. Loading
 * never leaves the directory: absolute paths, "..", URL schemes and symlinks
 * that lead outside are refused.
 */
function weightPath(root: string, p: unknown): string {
  if (typeof p !== 'string' || p === '' || isAbsolute(p) || /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(p) || p.split(/[\\/]/).includes('..')) {
    throw new MultilossError('model', `${root}/${MODEL_FILE}: weight path ${JSON.stringify(p)} must be a plain relative path inside the model directory`);
  }
  const full = resolve(root, p);
  let real: string;
  try {
    real = realpathSync(full);
  } catch {
    throw new MultilossError('model', `${root}: weight file ${p} is missing`);
  }
  const rel = relative(realpathSync(root), real);
  if (rel.startsWith('..') || isAbsolute(rel) || rel.split(sep).includes('..')) {
    throw new MultilossError('model', `${root}: weight file ${p} leads outside the model directory`);
  }
  if (!statSync(real).isFile()) throw new MultilossError('model', `${root}: weight file ${p} is not a regular file`);
  return real;
}

/** Loads a model directory written by `saveModel`, checking every file before use. */
export async function loadModel(dir: string): Promise<MultilossModel> {
  const root = resolve(dir);
  recoverInterruptedSave(root);
  if (!existsSync(root)) throw new MultilossError('io', `model directory ${dir}: not found`);
  if (!lstatSync(root).isDirectory() && !lstatSync(realpathSync(root)).isDirectory()) {
    throw new MultilossError('io', `model directory ${dir}: not a directory`);
  }
  if (!existsSync(join(root, MODEL_FILE)) && existsSync(join(root, META_FILE)) && (parseJsonFile(join(root, META_FILE)) as { approach?: unknown } | null)?.approach === 'separate') {
    throw new MultilossError('model', `${dir} holds separate models (approach: separate): load it with loadAnyModel`);
  }
  const modelJson = parseJsonFile(join(root, MODEL_FILE));
  const buffers: Buffer[] = [];
  let total = 0;
  for (const group of checkManifest(modelJson, dir)) {
    for (const p of group.paths) {
      const buf = readFileChecked(weightPath(root, p), 'weight file', MAX_WEIGHT_BYTES);
      total += buf.length;
      if (total > MAX_WEIGHT_BYTES) throw new MultilossError('model', `${dir}: weight files exceed ${MAX_WEIGHT_BYTES} bytes`);
      buffers.push(buf);
    }
  }
  const joined = Buffer.concat(buffers);
  const weightData = joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.byteLength) as ArrayBuffer;
  // multiloss.json when present; else the copy in model.json (a model saved from a page and downloaded).
  const embedded = (modelJson as { userDefinedMetadata?: Record<string, unknown> }).userDefinedMetadata?.[METADATA_KEY];
  const meta = embedded !== undefined && !existsSync(join(root, META_FILE)) ? embedded : parseJsonFile(join(root, META_FILE));
  return modelFromFiles(modelJson, weightData, meta, dir);
}

/** model.json's weightsManifest: groups of `paths` (strings are checked when read) and `weights` entries (objects). */
function checkManifest(modelJson: unknown, where: string): { paths: unknown[]; weights: unknown[] }[] {
  const manifest = (modelJson as { weightsManifest?: unknown } | null)?.weightsManifest;
  if (!Array.isArray(manifest)) throw new MultilossError('model', `${where}/${MODEL_FILE}: weightsManifest missing; not a tfjs layers model`);
  for (const group of manifest as { paths?: unknown; weights?: unknown }[]) {
    const entries = group?.weights;
    if (!group || typeof group !== 'object' || !Array.isArray(group.paths) || !Array.isArray(entries) || !entries.every((w) => w !== null && typeof w === 'object' && !Array.isArray(w))) {
      throw new MultilossError('model', `${where}/${MODEL_FILE}: malformed weightsManifest`);
    }
  }
  return manifest as { paths: unknown[]; weights: unknown[] }[];
}

/**
 * Builds a model from the parsed contents of its files (model.json,
 * multiloss.json) and the weight bytes — what loadModel does once it has read
 * them. The files may come from anyone: besides the explicit checks, anything
 * that fails while they are interpreted is reported as a damaged model (a
 * MultilossError naming the cause), never as a crash.
 */
export async function modelFromFiles(modelJson: unknown, weightData: ArrayBuffer, meta: unknown, where: string): Promise<MultilossModel> {
  checkManifest(modelJson, where);
  return modelFromParts(modelJson, weightData, meta, where);
}
