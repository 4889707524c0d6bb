import { MultilossError } from '../../errors.js';
import { modelImageSource, readNamedImages, type NamedImages } from '../../io/image-source.js';
import { loadAnyModel } from '../../io/separate-dir.js';
import { isImageModel, modelInputShape } from '../../model/images.js';
import type { MultiOutputModel } from '../../model/multi-output.js';

/** `predict` and `evaluate` on images instead of a data file. */
export interface ImageFlags {
  /** A folder of PNG/JPEG files, or an IDX images file. */
  images?: string;
  /** The labels file (CSV naming each image file, or IDX labels). */
  labels?: string;
  /** The labels file's column naming each image file (default: as in training). */
  fileColumn?: string;
}

/**
 * Loads an image model and reads the images `--images` names, as the model
 * was trained to read them (its recorded channels, size and scale: see `modelImageSource`).
 * `needLabels`: evaluation needs the labels file.
 */
export async function loadImageModel(
  posModel: string | undefined,
  posData: string | undefined,
  flags: ImageFlags & { model?: string; data?: string },
  needLabels: boolean,
): Promise<{ model: MultiOutputModel; images: NamedImages }> {
  const dir = flags.model ?? posModel;
  if (!dir) throw new MultilossError('usage', 'no model: give the model directory (--model DIR)');
  if (flags.data !== undefined || (flags.model ? posModel : posData) !== undefined) throw new MultilossError('usage', '--data and --images: give one data source');
  if (needLabels && flags.labels === undefined) throw new MultilossError('usage', `--images ${flags.images}: evaluation needs the labels (--labels FILE)`);
  const model = await loadAnyModel(dir);
  try {
    if (!isImageModel(model)) throw new MultilossError('data', `${dir}: this model takes table rows (${modelInputShape(model).join('×')} features), not images; give --data FILE`);
    const source = modelImageSource(model, { images: flags.images as string, labels: flags.labels, fileColumn: flags.fileColumn });
    return { model, images: readNamedImages(source) };
  } catch (e) {
    model.dispose();
    throw e;
  }
}
