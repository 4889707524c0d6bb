/**
 * Saving and loading a MultilossModel through tfjs IO handlers: `downloads://name`,
 * `indexeddb://name`, `localstorage://name` (pages), an `http(s)://` URL (a POST to save, a
 * model.json to load), or any `tf.io.IOHandler` (`tf.io.browserFiles`, `tf.io.withSaveHandler`,
 * `tf.io.fromMemory`, …). Browser-safe; works in Node too for URLs and custom handlers.
 *
 * multiloss's metadata (heads, encoders, preprocessing, config, history: multiloss.json's
 * contents) travels inside model.json, under `userDefinedMetadata.multiloss`; the weights are the
 * standard tfjs ones. So what is saved here is a plain tfjs layers model (tf.loadLayersModel
 * loads it), and a folder holding a downloaded `model.json` and its weights file is a model
 * directory that Node's loadModel and `multiloss predict` read. Node's saveModel writes the same
 * metadata into model.json as well, so a model directory served over http loads here.
 */
import * as tf from '@tensorflow/tfjs-core';
import { MultilossError } from '../errors.js';
import { METADATA_KEY, MultilossModel, type LayersModelJSON } from './multiloss-model.js';

/**
 * Where to save a model, or where to load it from: a tfjs URL scheme (in a page, a path without
 * one is relative to the page: "/models/m/model.json") or an IO handler.
 */
export type ModelLocation = string | tf.io.IOHandler;

/** The model as tfjs artifacts (topology, weights, and multiloss's metadata in userDefinedMetadata). */
export async function toTfjsArtifacts(model: MultilossModel): Promise<tf.io.ModelArtifacts> {
  const { modelJson, weightData } = await model.toArtifacts();
  return {
    modelTopology: modelJson.modelTopology,
    format: modelJson.format,
    generatedBy: modelJson.generatedBy,
    convertedBy: modelJson.convertedBy,
    weightSpecs: modelJson.weightsManifest.flatMap((g) => g.weights),
    weightData,
    userDefinedMetadata: modelJson.userDefinedMetadata,
  };
}

function describe(location: ModelLocation): string {
  return typeof location === 'string' ? location : 'the given IO handler';
}

/** In a page or a worker, a location without a scheme ("/models/m/model.json") is a URL relative to it. */
function absolute(location: string): string {
  const base = (globalThis as { location?: { href?: unknown } }).location?.href;
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(location) || typeof base !== 'string' ? location : new URL(location, base).href;
}

function handlerFor(location: string, purpose: 'save' | 'load'): tf.io.IOHandler {
  const url = absolute(location);
  const handlers = purpose === 'save' ? tf.io.getSaveHandlers(url) : tf.io.getLoadHandlers(url);
  if (handlers.length === 0) {
    throw new MultilossError(
      'io',
      `${location}: no tfjs handler can ${purpose} a model there (use downloads://, indexeddb:// or localstorage:// in a page, an http(s):// URL, or a tf.io.IOHandler)`,
    );
  }
  return handlers[0];
}

/** Saves `model` to `destination` (see the module comment); returns what the handler reports. */
export async function saveModelTo(model: MultilossModel, destination: ModelLocation): Promise<tf.io.SaveResult> {
  const handler = typeof destination === 'string' ? handlerFor(destination, 'save') : destination;
  if (handler.save === undefined) throw new MultilossError('io', `${describe(destination)}: this IO handler cannot save`);
  const artifacts = await toTfjsArtifacts(model);
  let result: tf.io.SaveResult;
  try {
    result = await handler.save(artifacts);
  } catch (e) {
    throw new MultilossError('io', `cannot save model to ${describe(destination)}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (result.errors !== undefined && result.errors.length > 0) {
    throw new MultilossError('io', `cannot save model to ${describe(destination)}: ${result.errors.map(String).join('; ')}`);
  }
  return result;
}

/**
 * Builds a model from model.json's contents, the weight bytes and multiloss's metadata. The
 * inputs may come from anyone: anything that fails while they are interpreted is reported as a
 * damaged model (a MultilossError naming `where` and the cause), never as a crash.
 */
export async function modelFromParts(modelJson: unknown, weightData: ArrayBuffer, meta: unknown, where: string): Promise<MultilossModel> {
  try {
    return await MultilossModel.fromArtifacts(modelJson, weightData, meta, where);
  } catch (e) {
    if (e instanceof MultilossError) throw e;
    const err = e as Error | undefined;
    throw new MultilossError('model', `${where}: the model files are damaged or were not written by multiloss (${err?.name ?? 'error'}: ${err?.message ?? String(e)})`);
  }
}

/** Loads a model saved by {@link saveModelTo} or by Node's saveModel (see the module comment). */
export async function loadModelFrom(source: ModelLocation): Promise<MultilossModel> {
  const where = describe(source);
  const handler = typeof source === 'string' ? handlerFor(source, 'load') : source;
  if (handler.load === undefined) throw new MultilossError('io', `${where}: this IO handler cannot load`);
  let artifacts: tf.io.ModelArtifacts;
  try {
    artifacts = await handler.load();
  } catch (e) {
    throw new MultilossError('io', `cannot load model from ${where}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const meta = (artifacts.userDefinedMetadata as LayersModelJSON['userDefinedMetadata'] | undefined)?.[METADATA_KEY];
  if (meta === undefined) {
    throw new MultilossError('model', `${where}: model.json has no multiloss metadata (userDefinedMetadata.${METADATA_KEY}); it is a plain tfjs model, not one saved by multiloss`);
  }
  if (artifacts.modelTopology === undefined || artifacts.weightSpecs === undefined || artifacts.weightData === undefined) {
    throw new MultilossError('model', `${where}: the model has no topology or no weights`);
  }
  const wd = artifacts.weightData;
  const weightData = Array.isArray(wd) ? tf.io.concatenateArrayBuffers(wd) : wd;
  const modelJson = { modelTopology: artifacts.modelTopology, weightsManifest: [{ paths: [], weights: artifacts.weightSpecs }] };
  return modelFromParts(modelJson, weightData, meta, where);
}
