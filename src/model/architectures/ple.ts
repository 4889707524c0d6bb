/**
 * Progressive Layered Extraction (Tang et al., RecSys 2020) — and, as special
 * cases, Customized Gate Control (one level) and the Multi-gate
 * Mixture-of-Experts (Ma et al., KDD 2018: one level, shared experts only).
 *
 * Level l has `sharedExperts` shared experts and `taskExperts[t]` experts of
 * head t. Head t's gate (Dense + softmax on its level input) mixes its own
 * experts and the shared ones; below the top level a shared gate (on the shared
 * path's input) mixes every expert of the level into the next level's shared
 * input. Level 0 reads the network input (experts may start with conv blocks;
 * gates read the flattened input); level l > 0 reads the previous mixtures.
 * On top of each head's last mixture: its tower and output layer.
 *
 * Variable split (by use): head t owns its top-level experts and gate, its
 * gate one level below (which feeds only its own top-level experts), its tower
 * and output; every other variable reaches several heads and is shared.
 *
 * Shared representation (what 'rep'-mode methods balance): the outputs of the
 * top level's shared experts, concatenated (n × S·d); with two or more levels
 * followed by each head's input to the top level (its mixture one level below,
 * n × d per head). Head t reads the shared-expert block and its own slice.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { MultilossError } from '../../errors.js';
import { Rng } from '../../util/rng.js';
import type { DenseBlockSpec } from '../blocks.js';
import type { OutputSpec } from '../trainable-network.js';
import { ComposedNetwork, expandSymbolic, flatRows, Gate, mix, mixSymbolic, splitColumns, uniqueHeadNames } from './base.js';
import { HeadPart } from './head-part.js';
import { blocksOption, checkKeys, denseTail, intOption, intParser, perHead, towersOption } from './options.js';
import type { ArchitectureFactory, ArchitectureSpec } from './registry.js';
import { layerSafeName, loadedInputShape, Stack, type LayerSource } from './stack.js';

export interface ExtractionOptions {
  kind: string;
  levels: number;
  sharedExperts: number;
  /** Per head. */
  taskExperts: number[];
  /** Layers of a first-level expert. */
  expertLayers: DenseBlockSpec[];
  /** Layers of an expert above the first level (flat input). */
  upperLayers: DenseBlockSpec[];
  towers: DenseBlockSpec[][];
}

interface Level {
  shared: Stack[];
  /** [head][expert] */
  task: Stack[][];
  /** One per head. */
  gates: Gate[];
  /** Below the top level only. */
  sharedGate?: Gate;
}

export class ExtractionNetwork extends ComposedNetwork {
  private constructor(
    model: tfl.LayersModel,
    outputs: readonly OutputSpec[],
    inputShape: readonly number[],
    heads: HeadPart[],
    readonly options: ExtractionOptions,
    private readonly levels: Level[],
  ) {
    super(model, outputs, inputShape, heads);
  }

  static create(options: ExtractionOptions, inputShape: readonly number[], outputs: readonly OutputSpec[], rng: Rng): ExtractionNetwork {
    return ExtractionNetwork.assemble(options, inputShape, outputs, { rng });
  }

  static fromModel(model: tfl.LayersModel, options: ExtractionOptions, inputShape: readonly number[], outputs: readonly OutputSpec[]): ExtractionNetwork {
    return ExtractionNetwork.assemble(options, loadedInputShape(model, inputShape), outputs, { model });
  }

  private static assemble(o: ExtractionOptions, inputShape: readonly number[], outputs: readonly OutputSpec[], src: LayerSource): ExtractionNetwork {
    uniqueHeadNames(outputs);
    if (o.taskExperts.length !== outputs.length) throw new Error('ExtractionNetwork: one taskExperts entry per head');
    const L = o.levels;
    const lv = (l: number): string => (L > 1 ? `l${l}_` : '');
    const safe = outputs.map((x) => layerSafeName(x.name));
    const where = (l: number): string => (l === 0 ? 'architecture.expertLayers' : 'architecture.upperLayers');
    const levels: Level[] = [];
    // Layer creation order (and so the seeds of the kernels): level by level,
    // shared experts, each head's experts and gate, the shared gate; then the heads.
    let shape = [...inputShape];
    for (let l = 0; l < L; l++) {
      const specs = l === 0 ? o.expertLayers : o.upperLayers;
      const make = (prefix: string): Stack => {
        const opts = { prefix, where: where(l), flattenEnd: true };
        return src.model ? Stack.attach(src.model, specs, shape, opts) : Stack.create(specs, shape, opts, src.rng as Rng);
      };
      const shared = Array.from({ length: o.sharedExperts }, (_, e) => make(`${lv(l)}shared_expert_${e}`));
      const task: Stack[][] = [];
      const gates: Gate[] = [];
      outputs.forEach((_, t) => {
        task.push(Array.from({ length: o.taskExperts[t] }, (_, e) => make(`${lv(l)}task_${safe[t]}_expert_${e}`)));
        gates.push(Gate.make(src, `${lv(l)}gate_${safe[t]}`, o.taskExperts[t] + o.sharedExperts));
      });
      const all = o.sharedExperts + o.taskExperts.reduce((a, b) => a + b, 0);
      const sharedGate = l < L - 1 ? Gate.make(src, `${lv(l)}shared_gate`, all) : undefined;
      levels.push({ shared, task, gates, sharedGate });
      const width = (shared[0] ?? task.flat()[0]).outputShape;
      if (width.length !== 1) throw new Error('ExtractionNetwork: experts must end flat');
      shape = [...width];
    }
    const d = shape[0];
    const heads = outputs.map((x, t) =>
      src.model ? HeadPart.attach(src.model, x, o.towers[t], [d], `architecture.towers (head "${x.name}")`) : HeadPart.create(x, o.towers[t], [d], src.rng as Rng, `architecture.towers (head "${x.name}")`),
    );

    let model = src.model;
    if (!model) {
      const input = tfl.input({ shape: [...inputShape], name: 'features' });
      const flat = inputShape.length > 1 ? (tfl.layers.flatten({ name: 'gate_input_flatten' }).apply(input) as tfl.SymbolicTensor) : input;
      let sharedIn = input;
      let sharedGateIn = flat;
      let taskIn = outputs.map(() => input);
      let taskGateIn = outputs.map(() => flat);
      levels.forEach((level, l) => {
        const expandAll = (stacks: Stack[], ins: tfl.SymbolicTensor, prefixOf: (e: number) => string): tfl.SymbolicTensor[] =>
          stacks.map((s, e) => expandSymbolic(s.symbolic(ins), `${prefixOf(e)}_expand`));
        const S = expandAll(level.shared, sharedIn, (e) => `${lv(l)}shared_expert_${e}`);
        const P = level.task.map((stacks, t) => expandAll(stacks, taskIn[t], (e) => `${lv(l)}task_${safe[t]}_expert_${e}`));
        const nextTask = outputs.map((_, t) => {
          const gate = level.gates[t].layer.apply(taskGateIn[t]) as tfl.SymbolicTensor;
          return mixSymbolic(gate, [...P[t], ...S], `${lv(l)}mix_${safe[t]}`);
        });
        if (level.sharedGate) {
          const gate = level.sharedGate.layer.apply(sharedGateIn) as tfl.SymbolicTensor;
          sharedIn = mixSymbolic(gate, [...P.flat(), ...S], `${lv(l)}mix_shared`);
          sharedGateIn = sharedIn;
        }
        taskIn = nextTask;
        taskGateIn = nextTask;
      });
      model = tfl.model({ inputs: input, outputs: heads.map((h, t) => h.symbolic(taskIn[t])), name: 'multiloss' });
    } else if (model.outputs.length !== outputs.length) {
      throw new MultilossError('model', `model.json has ${model.outputs.length} outputs, multiloss.json describes ${outputs.length} heads`);
    }
    return new ExtractionNetwork(model, outputs, inputShape, heads, o, levels);
  }

  private get top(): Level {
    return this.levels[this.levels.length - 1];
  }

  /** The head-owned gate one level below the top (feeds only that head's top-level experts). */
  private lowerGate(t: number): Gate | undefined {
    return this.levels.length > 1 ? this.levels[this.levels.length - 2].gates[t] : undefined;
  }

  get sharedVariables(): tf.Variable[] {
    const L = this.levels.length;
    return this.levels.flatMap((level, l) => [
      ...level.shared.flatMap((s) => s.variables),
      ...(l < L - 1 ? level.task.flat().flatMap((s) => s.variables) : []),
      ...(l < L - 2 ? level.gates.flatMap((g) => g.variables) : []),
      ...(level.sharedGate ? level.sharedGate.variables : []),
    ]);
  }

  get headVariables(): tf.Variable[][] {
    return this.heads.map((h, t) => [
      ...(this.lowerGate(t)?.variables ?? []),
      ...this.top.task[t].flatMap((s) => s.variables),
      ...this.top.gates[t].variables,
      ...h.variables,
    ]);
  }

  /** The last layer of each top-level shared expert. */
  get lastSharedVariables(): tf.Variable[] {
    return this.top.shared.flatMap((s) => s.lastVariables);
  }

  protected trunkBatchNormVariables(): tf.Variable[] {
    const L = this.levels.length;
    return this.levels.flatMap((level, l) => [...level.shared, ...(l < L - 1 ? level.task.flat() : [])].flatMap((s) => s.batchNormVariables));
  }

  protected trunk(x: tf.Tensor, training: boolean, rng?: Rng): tf.Tensor2D {
    const L = this.levels.length;
    const flat = flatRows(x);
    let sharedIn: tf.Tensor = x;
    let sharedGateIn: tf.Tensor = flat;
    let taskIn: tf.Tensor[] = this.outputs.map(() => x);
    let taskGateIn: tf.Tensor[] = this.outputs.map(() => flat);
    for (let l = 0; l < L - 1; l++) {
      const level = this.levels[l];
      const S = level.shared.map((s) => s.apply(sharedIn, training, rng));
      const P = level.task.map((stacks, t) => stacks.map((s) => s.apply(taskIn[t], training, rng)));
      const nextTask = this.outputs.map((_, t) => mix(level.gates[t].apply(taskGateIn[t]), [...P[t], ...S]));
      sharedIn = mix((level.sharedGate as Gate).apply(sharedGateIn), [...P.flat(), ...S]);
      sharedGateIn = sharedIn;
      taskIn = nextTask;
      taskGateIn = nextTask;
    }
    const S = this.top.shared.map((s) => s.apply(sharedIn, training, rng));
    const parts = L > 1 ? [...S, ...taskIn] : S;
    return (parts.length === 1 ? parts[0] : tf.concat(parts, 1)) as tf.Tensor2D;
  }

  forwardHead(head: number, rep: tf.Tensor2D, input?: tf.Tensor): tf.Tensor2D {
    const top = this.top;
    const S = top.shared.length;
    const L = this.levels.length;
    const blocks = splitColumns(rep, S + (L > 1 ? this.outputs.length : 0));
    const shared = blocks.slice(0, S);
    const own = L > 1 ? blocks[S + head] : this.headInput(input);
    const seed = this.headSeed(head);
    const rng = seed === undefined ? undefined : new Rng(seed);
    const P = top.task[head].map((s) => s.apply(own, this.headTraining, rng));
    const mixed = mix(top.gates[head].apply(flatRows(own)), [...P, ...shared]);
    return this.heads[head].apply(mixed, this.headTraining, rng?.seed());
  }

  /** Head t's top-level gate weights for a batch (n × experts; own experts first, then the shared ones). */
  gateWeights(x: tf.Tensor, head: number): tf.Tensor2D {
    return tf.tidy(() => {
      const xi = this.headInput(x);
      if (this.levels.length === 1) return this.top.gates[head].apply(flatRows(xi));
      const rep = this.forwardTrunk(xi, false);
      const own = splitColumns(rep, this.top.shared.length + this.outputs.length)[this.top.shared.length + head];
      return this.top.gates[head].apply(own);
    });
  }
}

export const EXTRACTION_OPTIONS = ['expertLayers', 'towers'];

function extractionOptions(spec: ArchitectureSpec, trunk: readonly DenseBlockSpec[], outputs: readonly OutputSpec[] | undefined, kind: 'mmoe' | 'cgc' | 'ple'): ExtractionOptions {
  const expertLayers = blocksOption(spec, 'expertLayers', trunk);
  if (!expertLayers.length) throw new MultilossError('config', `architecture.expertLayers: the experts of "${kind}" need at least one block (model.trunk is empty)`);
  const levels = kind === 'ple' ? intOption(spec, 'levels', 2, 1) : 1;
  let upperLayers: DenseBlockSpec[] = [];
  if (levels > 1) {
    upperLayers = spec.upperLayers === undefined ? denseTail(expertLayers) : blocksOption(spec, 'upperLayers', []);
    if (!upperLayers.length) {
      throw new MultilossError('config', `architecture.upperLayers: experts above the first level read flat mixtures; give them dense blocks (expertLayers ends in conv blocks)`);
    }
  }
  const sharedExperts = kind === 'mmoe' ? intOption(spec, 'experts', 4, 1) : intOption(spec, 'sharedExperts', 2, 1);
  const taskExperts = kind === 'mmoe' ? outputs?.map(() => 0) : perHead(spec, 'taskExperts', intParser(0), 1, outputs);
  if (kind !== 'mmoe' && !outputs) perHead(spec, 'taskExperts', intParser(0), 1);
  return { kind, levels, sharedExperts, taskExperts: taskExperts ?? [], expertLayers, upperLayers, towers: towersOption(spec, outputs) ?? [] };
}

/** The factory of one member of the family (MMoE and CGC are in their own files). */
export function extractionFactory(kind: 'mmoe' | 'cgc' | 'ple', allowed: string[]): ArchitectureFactory {
  return {
    kind,
    validate(spec, trunk) {
      checkKeys(spec, allowed);
      extractionOptions(spec, trunk, undefined, kind);
      towersOption(spec);
    },
    create(spec, trunk, inputShape, outputs, rng) {
      return ExtractionNetwork.create(extractionOptions(spec, trunk, outputs, kind), inputShape, outputs, rng);
    },
    fromModel(model, spec, trunk, inputShape, outputs) {
      return ExtractionNetwork.fromModel(model, extractionOptions(spec, trunk, outputs, kind), inputShape, outputs);
    },
  };
}

/** `architecture: { kind: ple, levels, sharedExperts, taskExperts, expertLayers, upperLayers, towers }`. */
export const pleArchitecture = extractionFactory('ple', [...EXTRACTION_OPTIONS, 'levels', 'sharedExperts', 'taskExperts', 'upperLayers']);
