// Layer rule (docs/architecture.md, "Layers"): a module may import only from its own layer or
// a lower one, and no module may take part in an import cycle. Type-only imports count.
// `npm run lint` checks it (scripts/check-layers.mjs runs dependency-cruiser with it);
// test/architecture/layers.test.ts checks that src/ passes and that it catches a deliberate violation.

/**
 * Lowest first. Each entry: a layer's name, the paths (regular expressions on paths under src/)
 * that belong to it, and `except`: files under those paths that belong to a higher layer (listed
 * there). Three folders hold two layers each: src/model/ (the network, its heads and
 * architectures; and the trained model, which carries its configuration and training history),
 * src/training/ (the loop; and the runs that turn a resolved configuration into a trained
 * model) and src/compare/ (comparisons; and the distributed queue, which reads files and saves
 * models through io).
 */
const TRAINED_MODEL = ['src/model/multiloss-model\\.ts', 'src/model/images\\.ts', 'src/model/model-io\\.ts', 'src/model/multi-output\\.ts', 'src/model/separate-models\\.ts'];
const RUNS = ['src/training/run\\.ts', 'src/training/fit\\.ts', 'src/training/fit-images\\.ts', 'src/training/fit-stream\\.ts', 'src/training/fit-separate\\.ts', 'src/training/train-from-table\\.ts'];

export const LAYERS = [
  { name: 'foundation', paths: ['src/errors\\.ts', 'src/version\\.ts', 'src/util/'] },
  { name: 'engine', paths: ['src/engine/'] },
  { name: 'data', paths: ['src/data/'] },
  { name: 'losses', paths: ['src/losses/'] },
  { name: 'metrics', paths: ['src/metrics/'] },
  { name: 'model', paths: ['src/model/'], except: TRAINED_MODEL },
  { name: 'balancing', paths: ['src/balancing/'] },
  { name: 'training', paths: ['src/training/'], except: RUNS },
  { name: 'config', paths: ['src/config/'] },
  { name: 'trained model', paths: TRAINED_MODEL },
  { name: 'runs', paths: RUNS },
  { name: 'report', paths: ['src/report/'] },
  { name: 'compare', paths: ['src/compare/'], except: ['src/compare/queue/'] },
  { name: 'io', paths: ['src/io/'] },
  { name: 'queue', paths: ['src/compare/queue/'] },
  { name: 'api', paths: ['src/api/'] },
  { name: 'entries', paths: ['src/core\\.ts', 'src/index\\.ts', 'src/browser\\.ts', 'src/browser/', 'src/cli/'] },
];

const anyOf = (paths) => `^(${paths.join('|')})`;

const upward = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `layer-${layer.name}`,
  comment: `${layer.name} imports only from itself and the layers below it (${LAYERS.slice(0, i).map((l) => l.name).join(', ') || 'none'})`,
  severity: 'error',
  from: { path: anyOf(layer.paths), ...(layer.except ? { pathNot: anyOf(layer.except) } : {}) },
  to: { path: anyOf(LAYERS.slice(i + 1).flatMap((l) => l.paths)) },
}));

/** Every module under src/ belongs to a layer; a new top-level folder must be placed. */
const placed = {
  name: 'layer-unplaced',
  comment: 'every module under src/ belongs to a layer in .dependency-cruiser.mjs (LAYERS)',
  severity: 'error',
  from: { path: '^src/', pathNot: anyOf(LAYERS.flatMap((l) => l.paths)) },
  to: {},
};

export default {
  forbidden: [
    ...upward,
    placed,
    {
      name: 'no-cycle',
      comment: 'no import cycle, type-only imports included',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.json'] },
  },
};
