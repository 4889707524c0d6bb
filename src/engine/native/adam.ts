/**
 * Adam as one fused native step per `applyGradients`, in place on the wasm heap: the same
 * float32 operations in the same order as `tf.train.adam` (bit-identical results, tested), in one
 * addon call for all variables instead of ~14 tfjs kernels per variable.
 *
 * In-place writes need care on the wasm backend:
 * - a variable may share its buffer with another tensor (`tf.variable(t)`, `v.assign(t)`:
 *   refCount > 1): it gets a private copy first (copy-on-write), so `t` keeps its values;
 * - stock XNNPACK operators (Conv2D, DepthwiseConv2dNative, Prelu, ... and the fixed wasm matmuls)
 *   cache pre-packed weights by tensor id: after the update every variable's id is dropped and
 *   re-registered on the C++ side, which deletes any operator cached for it.
 *
 * On another backend, or without the addon, the step runs as tfjs ops (exactly tf.train.adam).
 * Moments are kept per variable name. Browser-safe: the addon comes from ./state.ts (Node only).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NamedTensor } from '@tensorflow/tfjs-core/dist/tensor_types.js';
import { floatOnHeap, tensorData, type WasmBackend } from '../wasm-kernels/internals.js';
import { nativeAddon, nativeKernelsActive } from './state.js';

interface Moments {
  m: tf.Variable;
  v: tf.Variable;
}

interface WasmBackendWithRegistry extends WasmBackend {
  wasm: WasmBackend['wasm'] & { tfjs: WasmBackend['wasm']['tfjs'] & { registerTensor(id: number, size: number, memoryOffset: number): void } };
}

const f32 = Math.fround;

/** A variable's gradient as Σₜ weights[t]·terms[t]; an undefined term or a zero weight adds nothing. */
export interface WeightedGradient {
  /** The variable's name. */
  name: string;
  terms: readonly (tf.Tensor | undefined)[];
  weights: ArrayLike<number>;
}

/** One variable's step: its gradient as weighted terms (a plain gradient: one term of weight 1). */
interface StepWork {
  value: tf.Variable;
  mom: Moments;
  terms: { grad: tf.Tensor; weight: number }[];
}

export class NativeAdamOptimizer extends tf.Optimizer {
  /** tf.Optimizer's `instanceof` is duck-typed (true for every optimizer): use the prototype chain. */
  static override [Symbol.hasInstance](x: unknown): boolean {
    return typeof x === 'object' && x !== null && Object.prototype.isPrototypeOf.call(NativeAdamOptimizer.prototype, x);
  }

  /** Serialises as 'Adam': the same optimizer, numerically. */
  static get className(): string {
    return 'Adam';
  }

  /** Read on every step (a schedule may change it between steps). */
  learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /**
   * beta^t as float32 scalar variables, as tf.train.adam keeps them (same names, so code that
   * saves and restores tf.train.adam's exact beta powers works with this optimizer too).
   */
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  private moments = new Map<string, Moments>();
  /**
   * Slots from `setWeights`, matched to variables by position in the next
   * `applyGradients` (as tf.train.adam does): variable names are not stable
   * across processes or models (tfjs-layers suffixes repeated names).
   */
  private restored?: Moments[];
  /** Steps done by the addon / by tfjs ops (diagnostics and tests). */
  nativeSteps = 0;
  fallbackSteps = 0;
  /** Copy-on-write copies made because a buffer was shared (diagnostics and tests). */
  copies = 0;

  constructor(learningRate: number, beta1 = 0.9, beta2 = 0.999, epsilon?: number | null) {
    super();
    this.learningRate = learningRate;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.epsilon = epsilon ?? tf.backend().epsilon();
    const [acc1, acc2] = tf.tidy(() => [tf.scalar(beta1).variable(), tf.scalar(beta2).variable()]);
    this.accBeta1 = acc1;
    this.accBeta2 = acc2;
  }

  override applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const pairs: [string, tf.Tensor | undefined][] = Array.isArray(variableGradients)
      ? variableGradients.map((g) => [g.name, g.tensor ?? undefined])
      : Object.keys(variableGradients).map((name) => [name, variableGradients[name] ?? undefined]);
    const work: StepWork[] = [];
    pairs.forEach(([name, grad], index) => {
      const item = this.workFor(name, index, grad == null ? [] : [{ grad, weight: 1 }]);
      if (grad != null) work.push(item);
    });
    this.restored = undefined;
    if (this.stepNative(work)) {
      this.nativeSteps++;
    } else {
      this.stepOps(work.map(({ value, mom, terms }) => ({ value, mom, grad: terms[0].grad })));
      this.fallbackSteps++;
    }
    this.incrementIterations();
  }

  /**
   * One step where gradients are weighted sums of tensors (the param mode's Σₜ wₜgₜ), formed
   * chunk by chunk inside the native step and never written out: the same numbers as
   * weightedSumOfTensors followed by applyGradients, without the d-float sum written and read
   * back. `entries` in the order applyGradients would get them (restored slots match by
   * position). False, with no step taken, when the native path cannot run it: the caller then
   * forms the sums and calls applyGradients.
   */
  applyWeightedGradients(entries: readonly WeightedGradient[]): boolean {
    const work = entries.map(({ name, terms, weights }, index) => {
      const parts: StepWork['terms'] = [];
      terms.forEach((grad, t) => {
        if (grad !== undefined && weights[t] !== 0) parts.push({ grad, weight: weights[t] });
      });
      return this.workFor(name, index, parts);
    });
    for (const { terms } of work) for (const { weight } of terms) if (!Number.isFinite(weight)) return false;
    if (!this.stepNative(work)) return false;
    this.restored = undefined;
    this.nativeSteps++;
    this.incrementIterations();
    return true;
  }

  /** The variable named `name` with its moments (slot `index` of restored ones) and gradient terms. */
  private workFor(name: string, index: number, terms: StepWork['terms']): StepWork {
    const value = tf.engine().registeredVariables[name];
    if (value === undefined) throw new Error(`Adam: no variable named '${name}'`);
    return { value, mom: this.momentsOf(name, value, index), terms };
  }

  private momentsOf(name: string, value: tf.Variable, index: number): Moments {
    let mom = this.moments.get(name);
    if (mom === undefined && this.restored) {
      mom = this.restored[index];
      if (mom === undefined || mom.m.size !== value.size) throw new Error(`Adam: restored slot ${index} does not fit variable '${name}'`);
      this.moments.set(name, mom);
    }
    if (mom === undefined) {
      mom = {
        m: tf.tidy(() => tf.zerosLike(value).variable(false)),
        v: tf.tidy(() => tf.zerosLike(value).variable(false)),
      };
      this.moments.set(name, mom);
    }
    return mom;
  }

  /** One addon call for every variable; false (nothing changed) when the native path cannot run. */
  private stepNative(work: StepWork[]): boolean {
    const addon = nativeAddon();
    if (addon === undefined || tf.getBackend() !== 'wasm') return false;
    // Plain gradients (one term of weight 1 each) take the plain step.
    const plain = work.every(({ terms }) => terms.length === 1 && terms[0].weight === 1);
    const adamWeighted = addon.adamWeighted;
    if (!plain && typeof adamWeighted !== 'function') return false;
    const backend = tf.backend() as unknown as WasmBackendWithRegistry;
    if (backend.dataIdMap === undefined || typeof backend.wasm?.tfjs?.registerTensor !== 'function') return false;
    for (const acc of [this.accBeta1, this.accBeta2]) if (acc.dtype !== 'float32' || acc.size !== 1 || !backend.dataIdMap.has(acc.dataId)) return false;
    for (const { value, terms, mom } of work) {
      if (value.dtype !== 'float32') return false;
      for (const t of [value, mom.m, mom.v]) if (!backend.dataIdMap.has(t.dataId)) return false;
      for (const { grad } of terms) {
        if (!floatOnHeap(backend, grad) || !tf.util.arraysEqual(value.shape, grad.shape)) return false;
      }
    }
    // Copy-on-write: every buffer we write must be ours alone. (Allocates: offsets are read after.)
    this.privatize(backend, this.accBeta1);
    this.privatize(backend, this.accBeta2);
    for (const { value, mom } of work) {
      this.privatize(backend, value);
      this.privatize(backend, mom.m);
      this.privatize(backend, mom.v);
    }
    const acc1At = tensorData(backend, this.accBeta1).memoryOffset;
    const acc2At = tensorData(backend, this.accBeta2).memoryOffset;
    const heap = () => new DataView(backend.wasm.HEAPU8.buffer);
    const acc1 = heap().getFloat32(acc1At, true);
    const acc2 = heap().getFloat32(acc2At, true);
    const at = (t: tf.Tensor): number => tensorData(backend, t).memoryOffset;
    // plain: [var, grad, m, v, n] per variable; weighted: [var, m, v, n, first term, term count]
    // per variable and [weight, byte offset] per term.
    const width = plain ? 5 : 6;
    const slots = new Float64Array(width * work.length);
    const termCount = work.reduce((sum, { terms }) => sum + terms.length, 0);
    const termSlots = new Float64Array(plain ? 0 : 2 * termCount);
    let term = 0;
    work.forEach(({ value, terms, mom }, i) => {
      const o = width * i;
      if (plain) {
        slots.set([at(value), at(terms[0].grad), at(mom.m), at(mom.v), value.size], o);
        return;
      }
      slots.set([at(value), at(mom.m), at(mom.v), value.size, term, terms.length], o);
      for (const { grad, weight } of terms) {
        termSlots[2 * term] = weight;
        termSlots[2 * term + 1] = at(grad);
        term++;
      }
    });
    // tf.train.adam's float32 scalars: 1 - beta (computed in JS, then float32), sub(1, accBeta), ...
    const params = Float64Array.of(
      f32(this.beta1),
      f32(1 - this.beta1),
      f32(this.beta2),
      f32(1 - this.beta2),
      f32(1 - acc1),
      f32(1 - acc2),
      f32(this.epsilon),
      f32(-this.learningRate),
    );
    if (plain) addon.adam(backend.wasm.HEAPU8.buffer as ArrayBuffer, slots, params);
    else (adamWeighted as NonNullable<typeof adamWeighted>)(backend.wasm.HEAPU8.buffer as ArrayBuffer, slots, termSlots, params);
    // accBeta <- accBeta * beta (float32), in place.
    heap().setFloat32(acc1At, f32(acc1 * f32(this.beta1)), true);
    heap().setFloat32(acc2At, f32(acc2 * f32(this.beta2)), true);
    // Drop any XNNPACK operator cached with the old weights (see the module comment).
    for (const { value } of work) {
      const d = tensorData(backend, value);
      backend.wasm.tfjs.disposeData(d.id);
      backend.wasm.tfjs.registerTensor(d.id, value.size, d.memoryOffset);
    }
    return true;
  }

  /** Give `v` a buffer of its own when it shares one (refCount > 1). */
  private privatize(backend: WasmBackend, v: tf.Variable): void {
    const data = tensorData(backend, v);
    if (data.refCount <= 1) return;
    const copy = backend.makeOutput(v.shape.slice(), 'float32');
    const to = tensorData(backend, copy).memoryOffset;
    const from = tensorData(backend, v).memoryOffset;
    backend.wasm.HEAPU8.copyWithin(to, from, from + v.size * 4); // HEAPU8 re-read after the allocation
    const t = tf.engine().makeTensorFromTensorInfo(copy);
    v.assign(t);
    t.dispose();
    this.copies++;
  }

  /** Exactly tf.train.adam's step, as tfjs ops (any backend). */
  private stepOps(work: { value: tf.Variable; grad: tf.Tensor; mom: Moments }[]): void {
    tf.tidy(() => {
      const oneMinusAccBeta1 = tf.sub(1, this.accBeta1);
      const oneMinusAccBeta2 = tf.sub(1, this.accBeta2);
      for (const { value, grad, mom } of work) {
        const newFirstMoment = tf.add(tf.mul(mom.m, this.beta1), tf.mul(grad, 1 - this.beta1));
        const newSecondMoment = tf.add(tf.mul(mom.v, this.beta2), tf.mul(tf.square(grad), 1 - this.beta2));
        const biasCorrectedFirstMoment = tf.div(newFirstMoment, oneMinusAccBeta1);
        const biasCorrectedSecondMoment = tf.div(newSecondMoment, oneMinusAccBeta2);
        mom.m.assign(newFirstMoment);
        mom.v.assign(newSecondMoment);
        const newValue = tf.add(tf.mul(tf.div(biasCorrectedFirstMoment, tf.add(tf.sqrt(biasCorrectedSecondMoment), this.epsilon)), -this.learningRate), value);
        value.assign(newValue);
      }
      this.accBeta1.assign(tf.mul(this.accBeta1, this.beta1));
      this.accBeta2.assign(tf.mul(this.accBeta2, this.beta2));
    });
  }

  override dispose(): void {
    for (const { m, v } of this.moments.values()) {
      m.dispose();
      v.dispose();
    }
    this.moments.clear();
    for (const { m, v } of this.restored ?? []) {
      m.dispose();
      v.dispose();
    }
    this.restored = undefined;
    this.accBeta1.dispose();
    this.accBeta2.dispose();
    super.dispose();
  }

  override async getWeights(): Promise<NamedTensor[]> {
    const entries = [...this.moments.entries()];
    return [
      await this.saveIterations(),
      ...entries.map(([name, { m }]) => ({ name: `${name}/m`, tensor: m })),
      ...entries.map(([name, { v }]) => ({ name: `${name}/v`, tensor: v })),
    ];
  }

  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const values = await this.extractIterations(weightValues);
    tf.tidy(() => {
      this.accBeta1.assign(tf.pow(this.beta1, this.iterations_ + 1));
      this.accBeta2.assign(tf.pow(this.beta2, this.iterations_ + 1));
    });
    for (const { m, v } of this.moments.values()) {
      m.dispose();
      v.dispose();
    }
    this.moments.clear();
    const count = values.length / 2;
    this.restored = [];
    for (let i = 0; i < count; i++) {
      this.restored.push({ m: values[i].tensor.variable(false), v: values[count + i].tensor.variable(false) });
    }
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { learningRate: this.learningRate, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    return new cls(config.learningRate, config.beta1, config.beta2, config.epsilon);
  }
}

/** A fused native Adam with tf.train.adam's arguments and numbers. */
export function createNativeAdam(learningRate: number, beta1 = 0.9, beta2 = 0.999, epsilon?: number): NativeAdamOptimizer {
  return new NativeAdamOptimizer(learningRate, beta1, beta2, epsilon);
}

/** Whether createOptimizer should use the native Adam: the native kernels are active on 'wasm'. */
export function nativeAdamActive(): boolean {
  return nativeKernelsActive() && nativeAddon() !== undefined;
}
