import type { BalanceSpec } from '../balancing/index.js';
import type { ArchitectureSpec } from '../model/architectures/registry.js';
import type { FeatureSpec } from '../data/preprocess.js';
import { MultilossError } from '../errors.js';
import type { HeadSpec } from '../model/heads/head.js';
import { resolveBlock, type DenseBlockSpec } from '../model/blocks.js';
import { resolveTrainingOptions, TRAINING_DEFAULTS, type TrainerOptions } from '../training/options.js';
import { DEFAULT_EPOCHS, DEFAULT_EPOCHS_WITHOUT_STOPPING } from '../training/early-stopping.js';
import { isImageSource, type Config, type ImageSource } from './schema.js';

/** A configuration with every default filled in: what a training run actually used. */
export interface ResolvedConfig {
  missingValues?: string[];
  /** undefined: every column that is not a target or a sample weight. */
  features?: FeatureSpec[];
  heads: HeadSpec[];
  /** 'joint' (one network, several heads) or 'separate' (one model per head); absent means joint. */
  approach?: 'joint' | 'separate';
  validation: { split: number; stratify: boolean };
  trunk: DenseBlockSpec[];
  architecture: ArchitectureSpec;
  training: TrainerOptions;
  balance: BalanceSpec;
  /** Streaming options when the configuration says `stream` (`train --stream`). */
  stream?: { shuffleBuffer?: number };
  /** How the training images were read, when the data are images (see ImageInputSpec). */
  images?: ImageInputSpec;
}

/**
 * How an image model's images are read, without their paths: the image
 * source's options (channels, file column, …) and its kind. A model records
 * it, so that `predict` and `evaluate` read new images exactly as training did.
 */
export type ImageInputSpec =
  | ({ source: 'folder' } & Omit<Extract<ImageSource, { images: string }>, 'images' | 'labels'>)
  | ({ source: 'idx' } & Omit<Extract<ImageSource, { idx: object }>['idx'], 'images' | 'labels'>);

/** The ImageInputSpec of an image source (its options without the paths). */
export function imageInputOf(source: ImageSource): ImageInputSpec {
  if ('idx' in source) {
    const { images: _images, labels: _labels, ...options } = source.idx;
    return { source: 'idx', ...options };
  }
  const { images: _images, labels: _labels, ...options } = source;
  return { source: 'folder', ...options };
}

export const DEFAULTS = {
  /** With early stopping (the default when there is validation data); DEFAULTS.epochsWithoutStopping otherwise. */
  epochs: DEFAULT_EPOCHS,
  epochsWithoutStopping: DEFAULT_EPOCHS_WITHOUT_STOPPING,
  ...TRAINING_DEFAULTS,
  validationSplit: 0.2,
  trunk: [64, 32],
} as const;

export function resolveConfig(config: Config): ResolvedConfig {
  const heads: HeadSpec[] = config.targets.map((t) => {
    const { name, column, ...rest } = t;
    return { ...rest, name: (name ?? column) as string, column: (column ?? name) as string } as HeadSpec;
  });
  const seen = new Set<string>();
  for (const h of heads) {
    if (seen.has(h.name)) throw new MultilossError('config', `targets: two heads are named "${h.name}"; give one a different "name"`);
    seen.add(h.name);
  }
  const trunk: DenseBlockSpec[] = (config.model?.trunk ?? [...DEFAULTS.trunk]).map((b, i) => resolveBlock(b, `model.trunk[${i}]`));
  const validation = { split: config.validation?.split ?? (config.validation?.data ? 0 : DEFAULTS.validationSplit), stratify: config.validation?.stratify ?? true };
  return {
    missingValues: config.missingValues,
    features: config.features?.map((f) => (typeof f === 'string' ? { name: f } : f)),
    heads,
    approach: config.approach ?? 'joint',
    validation,
    trunk,
    architecture: (config.architecture as ArchitectureSpec | undefined) ?? { kind: 'shared' },
    // Early stopping is on by default when there is validation data; its monitor stays unset unless given
    // (the trainer picks the default for the data it has: validation or training figures).
    training: resolveTrainingOptions(config.training, validation.split > 0 || config.validation?.data !== undefined),
    balance: config.balance ?? { method: 'static' },
    stream: config.stream === true ? {} : config.stream ? { ...config.stream } : undefined,
    ...(isImageSource(config.data) ? { images: imageInputOf(config.data) } : {}),
  };
}
