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
export type { HeadFactory } from './factory.js';
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

export function headFactory(kind: string, where: string): HeadFactory {
  const f = (FACTORIES as Record<string, HeadFactory | undefined>)[kind];
  if (!f) throw new MultilossError('config', `${where}: unknown head kind "${kind}"; valid kinds: ${HEAD_KINDS.join(', ')}`);
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
