import type * as tfl from '@tensorflow/tfjs-layers';
import { MultilossError } from '../../errors.js';
import type { Rng } from '../../util/rng.js';
import type { DenseBlockSpec } from '../blocks.js';
import type { OutputSpec, TrainableNetwork } from '../trainable-network.js';

/**
 * `architecture:` in a configuration: the kind and its own options. The dense
 * `model.trunk` blocks are passed along to every kind (hard sharing uses them
 * as its trunk; other kinds may use them for experts or columns).
 */
export interface ArchitectureSpec {
  kind: string;
  [option: string]: unknown;
}

/** Builds and re-attaches one kind of network. One file per kind registers one of these. */
export interface ArchitectureFactory {
  readonly kind: string;
  /** Throws MultilossError('config', …) naming `architecture.<option>` for a bad option. */
  validate(spec: ArchitectureSpec, trunk: readonly DenseBlockSpec[]): void;
  create(spec: ArchitectureSpec, trunk: readonly DenseBlockSpec[], inputShape: readonly number[], outputs: readonly OutputSpec[], rng: Rng): TrainableNetwork;
  /** Wraps a loaded LayersModel that `create` built with the same specs. */
  fromModel(model: tfl.LayersModel, spec: ArchitectureSpec, trunk: readonly DenseBlockSpec[], inputShape: readonly number[], outputs: readonly OutputSpec[]): TrainableNetwork;
}

const FACTORIES = new Map<string, ArchitectureFactory>();

export function registerArchitecture(factory: ArchitectureFactory): void {
  FACTORIES.set(factory.kind, factory);
}

export function architectureKinds(): string[] {
  return [...FACTORIES.keys()];
}

export function architectureFactory(kind: string): ArchitectureFactory {
  const f = FACTORIES.get(kind);
  if (!f) throw new MultilossError('config', `architecture.kind: unknown architecture "${kind}"; valid kinds: ${architectureKinds().join(', ')}`);
  return f;
}
