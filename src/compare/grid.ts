/**
 * A sweep's grid: which runs a comparison trains. Approaches × balancing
 * methods (with their options, and static weights) × architectures ×
 * learning rates × seeds, from a YAML file (`compare --grid FILE`) or flags.
 * Resolving a grid gives the list of runs, each with its stable id (see
 * run-id.ts); a run that two grid entries describe alike is trained once.
 * Browser-safe apart from the ids, which the caller computes (runKey).
 */
import { z } from 'zod';
import { BALANCING_METHODS, type BalanceSpec } from '../balancing/index.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { MultilossError } from '../errors.js';
import { architectureKinds, type ArchitectureSpec } from '../model/architectures/index.js';

const finiteNonNegative = z.number().finite().min(0);
/** A method by name (`pcgrad`, or `pcgrad:rep` with its gradient mode) or with its options (`{ method: famo, gamma: 0.001 }`). */
const MethodEntrySchema = z.union([z.string().min(1), z.looseObject({ method: z.string().min(1) })]);
/** An architecture by kind (`mmoe`) or with its options (`{ kind: mmoe, experts: 4 }`). */
const ArchitectureEntrySchema = z.union([z.string().min(1), z.looseObject({ kind: z.string().min(1) })]);

/** The grid as written in a `--grid` YAML file; every key is optional (defaults: both approaches, the default methods, the configuration's architecture and learning rate, 3 seeds). */
export const GridSchema = z.strictObject({
  approaches: z
    .array(z.enum(['separate', 'joint']))
    .min(1)
    .optional(),
  methods: z.array(MethodEntrySchema).optional(),
  /** Joint runs under `static` balancing, one per weight set (head name → weight). */
  staticWeights: z.array(z.record(z.string(), finiteNonNegative)).optional(),
  architectures: z.array(ArchitectureEntrySchema).min(1).optional(),
  learningRates: z.array(z.number().positive().finite()).min(1).optional(),
  /** How many seeds (the configuration's seed, +1, …) or the seeds themselves. */
  seeds: z.union([z.number().int().min(1), z.array(z.number().int()).min(1)]).optional(),
});
export type Grid = z.infer<typeof GridSchema>;

/** What one run varies of the base configuration (plain data: it travels in queue jobs). */
export const RunVariantSchema = z.discriminatedUnion('approach', [
  z.strictObject({ approach: z.literal('separate'), learningRate: z.number().positive().finite().optional(), epochs: z.number().int().min(1).optional() }),
  z.strictObject({
    approach: z.literal('joint'),
    balance: z.looseObject({ method: z.string().min(1) }),
    architecture: z.looseObject({ kind: z.string().min(1) }).optional(),
    learningRate: z.number().positive().finite().optional(),
    /** A shorter (or longer) epoch budget than the base configuration's: the rungs of `compare --auto`, a low-budget tuned-static search. */
    epochs: z.number().int().min(1).optional(),
  }),
]);
export type RunVariant = z.infer<typeof RunVariantSchema>;

/** A row of the comparison: its label and what its runs vary. */
export interface GridRow {
  label: string;
  variant: RunVariant;
}

/** A resolved grid: its rows (separate models first, then the joint variants in grid order) and seeds. */
export interface ResolvedGrid {
  rows: GridRow[];
  seeds: number[];
}

/** Checks a grid object (from YAML or JSON); the error names the key. */
export function parseGrid(value: unknown, source: string): Grid {
  const result = GridSchema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue.path.map(String).join('.') || '(top level)';
  const message =
    issue.code === 'unrecognized_keys' ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}` : issue.message;
  throw new MultilossError('config', `${source}: ${where}: ${message}`);
}

/** `key=value` pairs of an options object (nested objects flattened one level), for row labels. */
function optionText(options: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(options)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v))
      for (const [k2, v2] of Object.entries(v as Record<string, unknown>)) parts.push(`${k2}=${JSON.stringify(v2)}`);
    else parts.push(`${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  }
  return parts.length > 0 ? `(${parts.join(', ')})` : '';
}

/** A method entry as a balance spec and its label; a bare name keeps the base configuration's options for that method. */
function balanceOf(entry: NonNullable<Grid['methods']>[number], base: ResolvedConfig, where: string): { balance: BalanceSpec; label: string } {
  let spec: BalanceSpec;
  let label: string;
  if (typeof entry === 'string') {
    const [method, mode, ...rest] = entry.split(':');
    if (rest.length > 0 || (mode !== undefined && mode !== 'param' && mode !== 'rep'))
      throw new MultilossError('usage', `${where}: "${entry}": expected METHOD or METHOD:MODE (mode param or rep), e.g. pcgrad:rep`);
    spec = mode ? { method, mode } : base.balance.method === method ? base.balance : { method };
    label = entry;
  } else {
    const { method, mode, ...options } = entry as BalanceSpec;
    spec = entry as BalanceSpec;
    label = `${method}${mode ? `:${String(mode)}` : ''}${optionText(options)}`;
  }
  if (!BALANCING_METHODS.includes(spec.method))
    throw new MultilossError('usage', `${where}: unknown balancing method "${spec.method}"; valid methods: ${BALANCING_METHODS.join(', ')}`);
  return { balance: spec, label };
}

function architectureOf(entry: NonNullable<Grid['architectures']>[number], where: string): { architecture: ArchitectureSpec; label: string } {
  const architecture: ArchitectureSpec = typeof entry === 'string' ? { kind: entry } : (entry as ArchitectureSpec);
  if (!architectureKinds().includes(architecture.kind))
    throw new MultilossError('usage', `${where}: unknown architecture "${architecture.kind}"; valid kinds: ${architectureKinds().join(', ')}`);
  const { kind, ...options } = architecture;
  return { architecture, label: `${kind}${optionText(options)}` };
}

/**
 * The rows and seeds of a grid over `base`. Separate models vary only by
 * learning rate; architectures and learning rates appear in a row's label
 * when the grid has more than one of them. Labels must be unique.
 */
export function resolveGrid(grid: Grid, base: ResolvedConfig, defaults: { methods: readonly string[]; seeds: number }): ResolvedGrid {
  const approaches = grid.approaches ?? ['separate', 'joint'];
  const headNames = base.heads.map((h) => h.name);
  const balances = (grid.methods ?? (grid.staticWeights ? [] : defaults.methods)).map((m, i) => balanceOf(m, base, `methods[${i}]`));
  (grid.staticWeights ?? []).forEach((weights, i) => {
    for (const name of Object.keys(weights)) {
      if (!headNames.includes(name)) throw new MultilossError('usage', `staticWeights[${i}]: unknown head "${name}"; heads: ${headNames.join(', ')}`);
    }
    balances.push({ balance: { method: 'static', weights }, label: `static${optionText(weights)}` });
  });
  const architectures = grid.architectures?.map((a, i) => architectureOf(a, `architectures[${i}]`));
  const learningRates = grid.learningRates;
  const lrSuffix = (lr: number | undefined) => (learningRates && learningRates.length > 1 ? ` · lr ${lr}` : '');
  const rows: GridRow[] = [];
  if (approaches.includes('separate')) {
    for (const lr of learningRates ?? [undefined])
      rows.push({ label: `separate${lrSuffix(lr)}`, variant: { approach: 'separate', ...(lr !== undefined ? { learningRate: lr } : {}) } });
  }
  if (approaches.includes('joint')) {
    if (balances.length === 0) throw new MultilossError('usage', 'methods: give at least one balancing method for the joint model');
    for (const b of balances) {
      for (const a of architectures ?? [undefined]) {
        for (const lr of learningRates ?? [undefined]) {
          const archSuffix = a && architectures && architectures.length > 1 ? ` · ${a.label}` : '';
          rows.push({
            label: `${b.label}${archSuffix}${lrSuffix(lr)}`,
            variant: {
              approach: 'joint',
              balance: b.balance,
              ...(a ? { architecture: a.architecture } : {}),
              ...(lr !== undefined ? { learningRate: lr } : {}),
            },
          });
        }
      }
    }
  }
  const seen = new Set<string>();
  for (const r of rows) {
    if (seen.has(r.label)) throw new MultilossError('usage', `grid: "${r.label}" is given twice`);
    seen.add(r.label);
  }
  const seedsGiven = grid.seeds ?? defaults.seeds;
  const seeds = typeof seedsGiven === 'number' ? Array.from({ length: seedsGiven }, (_, i) => base.training.seed + i) : [...seedsGiven];
  if (new Set(seeds).size !== seeds.length) throw new MultilossError('usage', `seeds: a seed is given twice (${seeds.join(', ')})`);
  return { rows, seeds };
}

/** The full configuration of one run: the base with the row's variant and the seed; checkpoints off. */
export function variantConfig(base: ResolvedConfig, variant: RunVariant, seed: number): ResolvedConfig {
  const optimizer = variant.learningRate !== undefined ? { ...base.training.optimizer, learningRate: variant.learningRate } : base.training.optimizer;
  const epochs = variant.epochs ?? base.training.epochs;
  const training = { ...base.training, seed, checkpointEvery: undefined, optimizer, epochs };
  if (variant.approach === 'separate') return { ...base, approach: 'separate', training };
  return {
    ...base,
    approach: 'joint',
    balance: variant.balance as BalanceSpec,
    ...(variant.architecture ? { architecture: variant.architecture as ArchitectureSpec } : {}),
    training,
  };
}
