import { existsSync, realpathSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import * as z from 'zod';
import type { ResolvedConfig } from '../config/resolve.js';
import { MultilossError } from '../errors.js';
import type { MultiOutputModel } from '../model/multi-output.js';
import { MultilossModel } from '../model/multiloss-model.js';
import { SeparateModels, type SeparateJSON } from '../model/separate-models.js';
import { FORMAT_VERSION, VERSION } from '../version.js';
import { readTextChecked, writeFileSynced } from './files.js';
import { loadModel, MAX_JSON_BYTES, META_FILE, recoverInterruptedSave, saveModel, writeDirectoryAtomically } from './model-dir.js';

/**
 * Saved separate models: ONE directory holding each sub-model in its own
 * sub-directory (a complete model directory: model.json, weights.bin,
 * multiloss.json) and a top-level multiloss.json with `approach: "separate"`
 * naming them. Like a joint model, the whole directory is written under a
 * temporary name and renamed into place.
 */

/** A sub-directory name for the model of head `name` (index first: names may collide once cleaned). */
export function subModelDir(index: number, name: string): string {
  const slug = name
    .replace(/[^A-Za-z0-9_-]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 40);
  return slug ? `${index}-${slug}` : String(index);
}

const separateSchema = z.looseObject({
  format: z.literal('multiloss'),
  approach: z.literal('separate'),
  formatVersion: z.number().int().min(1),
  libraryVersion: z.string(),
  createdAt: z.string(),
  config: z.looseObject({ heads: z.array(z.unknown()).min(1) }),
  models: z.array(z.strictObject({ head: z.string().min(1), dir: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'a plain sub-directory name') })).min(1),
});

/** Saves separate models as one directory (see the module comment), atomically. */
export async function saveSeparate(model: SeparateModels, dir: string): Promise<void> {
  const dirs = model.heads.map((h, k) => subModelDir(k, h.name));
  await writeDirectoryAtomically(dir, async (tmp) => {
    for (let k = 0; k < model.models.length; k++) await saveModel(model.models[k], join(tmp, dirs[k]));
    writeFileSynced(join(tmp, META_FILE), JSON.stringify(model.toJSON(dirs), null, 2));
  });
}

/** The parsed top-level multiloss.json, or undefined when the directory has none or it is not JSON (loadModel reports that). */
function readTopMeta(root: string): unknown {
  const path = join(root, META_FILE);
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readTextChecked(path, 'model file', MAX_JSON_BYTES));
  } catch (e) {
    if (e instanceof MultilossError) throw e;
    return undefined;
  }
}

/** Whether `dir` holds separate models (its multiloss.json says `approach: "separate"`). */
export function isSeparateDir(dir: string): boolean {
  recoverInterruptedSave(dir);
  const meta = readTopMeta(resolve(dir)) as { approach?: unknown } | undefined;
  return meta?.approach === 'separate';
}

/** Loads separate models saved by `saveSeparate`, checking the layout before loading each sub-model. */
export async function loadSeparate(dir: string): Promise<SeparateModels> {
  const root = resolve(dir);
  recoverInterruptedSave(root);
  if (!existsSync(root)) throw new MultilossError('io', `model directory ${dir}: not found`);
  const json = readTopMeta(root);
  const version = (json as { formatVersion?: unknown } | null)?.formatVersion;
  if (typeof version === 'number' && version > FORMAT_VERSION) {
    throw new MultilossError(
      'model',
      `${dir}/${META_FILE} has format version ${version}, but this multiloss (${VERSION}) reads format ${FORMAT_VERSION} at most; upgrade multiloss`,
    );
  }
  const parsed = separateSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new MultilossError('model', `${dir}/${META_FILE} is not a separate-models file: ${issue.path.join('.') || '(top level)'}: ${issue.message}`);
  }
  const meta = parsed.data as unknown as SeparateJSON;
  const realRoot = realpathSync(root);
  const models: MultilossModel[] = [];
  try {
    for (const entry of meta.models) {
      const sub = join(root, entry.dir);
      if (!existsSync(sub)) throw new MultilossError('model', `${dir}: the model of head "${entry.head}" (${entry.dir}/) is missing`);
      const rel = relative(realRoot, realpathSync(sub));
      if (rel === '' || rel.startsWith('..') || isAbsolute(rel) || rel.split(sep).includes('..')) {
        throw new MultilossError('model', `${dir}: ${entry.dir} leads outside the model directory`);
      }
      const model = await loadModel(sub);
      models.push(model);
      if (model.heads.length !== 1 || model.heads[0].name !== entry.head) {
        throw new MultilossError(
          'model',
          `${dir}/${entry.dir}: expected the model of head "${entry.head}", found heads ${model.heads.map((h) => `"${h.name}"`).join(', ')}`,
        );
      }
    }
    return new SeparateModels(models, { libraryVersion: meta.libraryVersion, createdAt: meta.createdAt, config: meta.config as ResolvedConfig });
  } catch (e) {
    for (const m of models) m.dispose();
    throw e;
  }
}

/** Saves a joint or a separate model; the directory layout follows the model. */
export async function saveAnyModel(model: MultiOutputModel, dir: string): Promise<void> {
  if (model instanceof SeparateModels) return saveSeparate(model, dir);
  if (model instanceof MultilossModel) return saveModel(model, dir);
  throw new MultilossError('model', 'saveAnyModel: not a multiloss model (MultilossModel or SeparateModels)');
}

/** Loads a model directory, joint or separate: what the CLI's predict, evaluate and info use. */
export async function loadAnyModel(dir: string): Promise<MultiOutputModel> {
  return isSeparateDir(dir) ? loadSeparate(dir) : loadModel(dir);
}
