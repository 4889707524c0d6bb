import { resolve } from 'node:path';
import { initBackend } from '../../engine/backend.js';
import { MultilossError } from '../../errors.js';
import { loadAnyModel } from '../../io/separate-dir.js';
import { fmt, metricsTable, stopLines, table } from '../format.js';
import { describeBlock } from '../../model/blocks.js';
import { imageInputSpecOf, imageReadOptions, isImageModel, modelInputShape } from '../../model/images.js';

import type { Backend } from './shared.js';

export interface InfoFlags {
  model?: string;
  json?: boolean;
  backend: Backend;
}

export async function runInfo(posModel: string | undefined, flags: InfoFlags): Promise<void> {
  const dir = flags.model ?? posModel;
  if (!dir) throw new MultilossError('usage', 'no model: give the model directory (--model DIR)');
  const backend = await initBackend(flags.backend);
  const model = await loadAnyModel(dir);
  const info = model.info();
  // An image model's "features" are its pixels: shown as the image shape it takes.
  const imageShape = isImageModel(model) ? modelInputShape(model) : undefined;
  const spec = imageShape ? imageInputSpecOf(model) : undefined;
  // How new images are read for it (channels, size, scale): what predict and evaluate apply.
  const read = imageShape ? imageReadOptions(model) : undefined;
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ ...info, ...(imageShape ? { inputShape: imageShape, ...(spec ? { images: spec } : {}), ...(read ? { read } : {}) } : {}), backend }, null, 2)}\n`);
  } else {
    const lines = [
      `model        ${resolve(dir)}`,
      `created      ${info.createdAt} by multiloss ${info.libraryVersion}`,
      `backend      ${backend.name}${backend.simd !== undefined ? ` (simd ${backend.simd ? 'on' : 'off'})` : ''}${backend.fixedKernels ? ', fixed wasm kernels' : ''}${backend.native.active ? `, native kernels (${backend.native.isa}, ${backend.native.threads} threads)` : ''}`,
      `approach     ${info.approach}${info.approach === 'separate' ? ` (${info.heads.length} models, one per head)` : ''}`,
      `parameters   ${info.parameters}`,
      imageShape
        ? `input        images ${imageShape.join('×')} (height×width×channels: ${imageShape[2] === 1 ? 'grayscale' : imageShape[2] === 3 ? 'RGB' : `${imageShape[2]} channels`})${spec ? `, read from ${spec.source === 'idx' ? 'IDX files' : 'an image folder'}` : ''}${read ? `; new images are read with ${read.size ? `size ${read.size.join('×')}, ` : ''}scale ${read.scale}` : ''}`
        : `features     ${info.features.length} columns → ${info.inputSize} inputs: ${info.features.map((f) => `${f.name} (${f.type})`).join(', ')}`,
      `trunk        ${info.trunk.map(describeBlock).join(' → ') || '(none)'}`,
      info.update
        ? `balance      ${info.balance.method} (total: unweighted sum of head losses; last epoch's share of the update: ${Object.entries(info.update)
            .map(([name, u]) => `${name} ${fmt(u.share)}`)
            .join(', ')})`
        : `balance      ${info.balance.method} (weights ${info.balance.weights.map((w) => fmt(w)).join(', ')})`,
      `epochs       ${info.epochs}`,
      ...stopLines(info),
      '',
      table(
        ['head', 'kind', 'column', 'loss', 'units', 'classes'],
        info.heads.map((h) => [h.name, h.kind, h.column, h.loss, String(h.units), h.classes ? h.classes.join(', ') : '']),
      ),
    ];
    const split = info.metrics.validation ?? info.metrics.train;
    if (split) lines.push('', `${info.metrics.validation ? 'validation' : 'training'} metrics at the end of training:`, metricsTable(split, model.heads));
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  model.dispose();
}
