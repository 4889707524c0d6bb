/**
 * Blocks of a trunk, expert, column or tower: their specification, how a configuration writes
 * one (the schema both `model.trunk` and the architectures' options read) and its defaults.
 * Below the network and the architectures, which both build blocks.
 */
import * as z from 'zod';
import { MultilossError } from '../errors.js';

export const TRUNK_ACTIVATIONS = ['relu', 'relu6', 'elu', 'selu', 'gelu', 'swish', 'mish', 'tanh', 'sigmoid', 'softplus', 'linear'] as const;
export type TrunkActivation = (typeof TRUNK_ACTIVATIONS)[number];

/** Pooling inside a conv block: window `size` (default 2), stride (default: the window), padding (default 'valid'). */
export interface PoolSpec {
  type: 'max' | 'avg';
  size?: number | [number, number];
  stride?: number | [number, number];
  padding?: 'same' | 'valid';
}

/**
 * One block of a trunk (or of an architecture's experts, columns or towers).
 *
 * - dense (default): dense → [batch norm] → activation → [dropout]; after conv
 *   blocks its input is flattened first.
 * - conv, on H×W×C input: conv2d (`units` filters, `kernel`, `stride`,
 *   `padding`) → [batch norm] → activation → [max/avg pooling or global
 *   pooling] → [dropout]. A trunk that ends in conv blocks is flattened at the
 *   end (unless the last one has `globalPool`).
 */
export interface DenseBlockSpec {
  type?: 'dense' | 'conv';
  /** Dense: output units. Conv: filters (output channels). */
  units: number;
  activation?: TrunkActivation;
  dropout?: number;
  batchNorm?: boolean;
  /** Conv: kernel size (default 3) or [height, width]. */
  kernel?: number | [number, number];
  /** Conv: stride (default 1) or [height, width]. */
  stride?: number | [number, number];
  /** Conv: 'same' (default) or 'valid'. */
  padding?: 'same' | 'valid';
  /** Conv: pooling after the activation: 'max' / 'avg' (2×2, stride 2) or a full PoolSpec. */
  pool?: 'max' | 'avg' | PoolSpec;
  /** Conv: global average / max pooling after the activation (H×W×C → C). */
  globalPool?: 'avg' | 'max';
}
export type TrunkLayerSpec = DenseBlockSpec;

/**
 * One trunk block in words, for `info` and reports: "64 relu, dropout 0.1"
 * for a dense block, "conv 16 3×3 relu, max pool 2×2" for a conv block.
 */
export function describeBlock(b: DenseBlockSpec): string {
  const pair = (v: number | [number, number]) => (typeof v === 'number' ? `${v}×${v}` : `${v[0]}×${v[1]}`);
  const extras = [...(b.batchNorm ? ['batch norm'] : []), ...(b.dropout ? [`dropout ${b.dropout}`] : [])];
  if (b.type !== 'conv') return [`${b.units} ${b.activation ?? 'relu'}`, ...extras].join(', ');
  const stride = b.stride !== undefined && pair(b.stride) !== '1×1' ? ` stride ${pair(b.stride)}` : '';
  const padding = b.padding === 'valid' ? ' valid' : '';
  const pool = b.pool === undefined ? [] : typeof b.pool === 'string' ? [`${b.pool} pool 2×2`] : [`${b.pool.type} pool ${pair(b.pool.size ?? 2)}${b.pool.stride !== undefined ? ` stride ${pair(b.pool.stride)}` : ''}`];
  const global = b.globalPool ? [`global ${b.globalPool} pool`] : [];
  return [`conv ${b.units} ${pair(b.kernel ?? 3)}${stride}${padding} ${b.activation ?? 'relu'}`, ...extras, ...pool, ...global].join(', ');
}

const pairOf = (min: number) => z.union([z.number().int().min(min), z.tuple([z.number().int().min(min), z.number().int().min(min)])]);
const PoolSchema = z.union([
  z.enum(['max', 'avg']),
  z.strictObject({ type: z.enum(['max', 'avg']), size: pairOf(1).optional(), stride: pairOf(1).optional(), padding: z.enum(['same', 'valid']).optional() }),
]);

/** A trunk block: a number of units, a dense block, or a conv block (image inputs; `filters` is an alias of `units`). */
export const DenseBlockSchema = z.union([
  z.number().int().min(1),
  z.strictObject({
    type: z.literal('dense').optional(),
    units: z.number().int().min(1),
    activation: z.enum(TRUNK_ACTIVATIONS).optional(),
    dropout: z.number().min(0).lt(1).optional(),
    batchNorm: z.boolean().optional(),
  }),
  z.strictObject({
    type: z.literal('conv'),
    units: z.number().int().min(1).optional(),
    filters: z.number().int().min(1).optional(),
    kernel: pairOf(1).optional(),
    stride: pairOf(1).optional(),
    padding: z.enum(['same', 'valid']).optional(),
    activation: z.enum(TRUNK_ACTIVATIONS).optional(),
    dropout: z.number().min(0).lt(1).optional(),
    batchNorm: z.boolean().optional(),
    pool: PoolSchema.optional(),
    globalPool: z.enum(['avg', 'max']).optional(),
  }),
]);

/** A trunk block as a configuration writes it (before resolveBlock). */
export type DenseBlockInput = z.infer<typeof DenseBlockSchema>;

/** A trunk block with its defaults: a bare number is a relu dense block; a conv block's `filters` become its `units`. */
export function resolveBlock(b: DenseBlockInput, where: string): DenseBlockSpec {
  if (typeof b === 'number') return { units: b, activation: 'relu' };
  if (b.type !== 'conv') return { activation: 'relu', ...b };
  const { filters, units, ...rest } = b;
  if (filters !== undefined && units !== undefined && filters !== units) throw new MultilossError('config', `${where}: filters and units are the same option; give one`);
  const n = filters ?? units;
  if (n === undefined) throw new MultilossError('config', `${where}.filters: a conv block needs its number of filters`);
  return { activation: 'relu', ...rest, units: n };
}

