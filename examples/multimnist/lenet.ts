/**
 * The LeNet-style network of Sener & Koltun (2018) for MultiMNIST, as a
 * multiloss configuration: a shared encoder conv 5×5×10 → max pool 2 → ReLU →
 * conv 5×5×20 → max pool 2 → ReLU → flatten (320) → dense 50 (ReLU), and per
 * digit a decoder dense 50 (ReLU) → 10-way output (`towers: [50]`).
 * (ReLU before max pooling equals max pooling before ReLU.)
 */
export const LENET_TRUNK = [
  { type: 'conv', filters: 10, kernel: 5, padding: 'valid', pool: 'max' },
  { type: 'conv', filters: 20, kernel: 5, padding: 'valid', pool: 'max' },
  50,
];

/** The raw configuration (validated with parseConfig) for one balancing method. */
export function multiMnistConfig(options: { balance?: Record<string, unknown>; epochs?: number; seed?: number; heads?: ('left' | 'right')[] } = {}): Record<string, unknown> {
  const heads = options.heads ?? ['left', 'right'];
  return {
    targets: heads.map((name) => ({ name, kind: 'classification' })),
    model: { trunk: LENET_TRUNK },
    architecture: { kind: 'shared', towers: [50] },
    validation: { split: 0 },
    balance: options.balance ?? { method: 'equal' },
    training: { epochs: options.epochs ?? 10, batchSize: 128, learningRate: 1e-3, seed: options.seed ?? 1, trainMetrics: false },
  };
}
