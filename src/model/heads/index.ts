import { MultilossError } from '../../errors.js';
import type { Table } from '../../data/table.js';
import { binaryFactory } from './binary.js';
import { classificationFactory } from './classification.js';
import { countFactory } from './count.js';
import type { HeadFactory } from './factory.js';
import { HEAD_KINDS, type Head, type HeadJSON, type HeadKind, type HeadSpec } from './head.js';
import { multilabelFactory } from './multilabel.js';
import { regressionFactory } from './regression.js';

export * from './head.js';
export type { HeadFactory, ValidationFigure } from './factory.js';
export { BinaryHead } from './binary.js';
export { ClassificationHead } from './classification.js';
export { CountHead } from './count.js';
export { MultilabelHead } from './multilabel.js';
export { RegressionHead } from './regression.js';

const FACTORIES: Record<HeadKind, HeadFactory> = {
  classification: classificationFactory,
  binary: binaryFactory,
  multilabel: multilabelFactory,
  regression: regressionFactory,
  count: countFactory,
};

/** A head factory for a kind that is not built in (`kind` is any string). */
export type CustomHeadFactory = Omit<HeadFactory, 'kind'> & { readonly kind: string };

const CUSTOM_FACTORIES = new Map<string, CustomHeadFactory>();

/**
 * Registers a head kind: `fit` builds its heads from a table (config files),
 * `fromJSON` restores them from multiloss.json. Registering a kind again replaces it.
 */
export function registerHeadFactory(factory: CustomHeadFactory): void {
  if ((HEAD_KINDS as readonly string[]).includes(factory.kind)) throw new MultilossError('config', `registerHeadKind: "${factory.kind}" is a built-in head kind; pick another name`);
  CUSTOM_FACTORIES.set(factory.kind, factory);
}

/** Names of the head kinds registered at run time. */
export function registeredHeadKinds(): string[] {
  return [...CUSTOM_FACTORIES.keys()];
}

export function headFactory(kind: string, where: string): HeadFactory {
  const f = (FACTORIES as Record<string, HeadFactory | undefined>)[kind] ?? (CUSTOM_FACTORIES.get(kind) as HeadFactory | undefined);
  if (!f) throw new MultilossError('config', `${where}: unknown head kind "${kind}"; valid kinds: ${[...HEAD_KINDS, ...CUSTOM_FACTORIES.keys()].join(', ')}`);
  return f;
}

/** The loss names each head kind accepts (first = default). */
export function lossesFor(kind: HeadKind): readonly string[] {
  return FACTORIES[kind].losses;
}

export function fitHead(spec: HeadSpec, train: Table, all: Table): Head {
  return headFactory(spec.kind, `head "${spec.name}"`).fit(spec, train, all);
}

export function headFromJSON(json: HeadJSON): Head {
  return headFactory(json.spec.kind, `multiloss.json head "${json.spec.name}"`).fromJSON(json);
}
