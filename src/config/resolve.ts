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
  stream?: { shuffleBuffer?: number; spill?: boolean };
  /** Where the training images came from, when the data are images (see ImageInputSpec). */
  images?: ImageInputSpec;
}

/**
 * Where an image model's images came from, without their paths or pixel
 * options: the source's kind and how its labels name the images (file
 * column, IDX label column). The pixel preparation (channels, size, scale,
 * standardisation) is the model's `meta.images` (see `imageReadOptions`),
 * recorded once; `predict` and `evaluate` read new images with both.
 */
export type ImageInputSpec = ({ source: 'folder'; fileColumn?: string } | { source: 'idx'; labelColumn?: string }) & {
  /** The training batches' seeded augmentation, when the configuration asks for one. */
  augment?: { shift?: number; flip?: boolean };
};

/** The ImageInputSpec of an image source. */
export function imageInputOf(source: ImageSource): ImageInputSpec {
  const options = 'idx' in source ? source.idx : source;
  const augment = options.augment !== undefined ? { augment: { ...options.augment } } : {};
  if ('idx' in source) return { source: 'idx', ...(source.idx.labelColumn !== undefined ? { labelColumn: source.idx.labelColumn } : {}), ...augment };
  return { source: 'folder', ...(source.fileColumn !== undefined ? { fileColumn: source.fileColumn } : {}), ...augment };
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
