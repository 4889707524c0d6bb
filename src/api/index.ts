/**
 * The library API for people who already have a model: train any functional
 * tfjs `LayersModel` with named outputs ({@link trainLayersModel}), or a model
 * written as tfjs-core code ({@link trainFunctionModel}), through multiloss's
 * own training loop — a head per output, masked and weighted losses, a
 * balancing method (loss-based or gradient-based), exact streaming metrics,
 * callbacks, early stopping and checkpoints. Runnable examples of each entry
 * point are in `examples/api/` (a test runs every one of them).
 *
 * ## Heads
 * `options.heads` maps each output name to a {@link HeadConfig}: a built-in
 * kind (`classification`, `binary`, `multilabel`, `regression`, `count`) with
 * its classes, loss, weight, class weights and extra metrics, or a kind
 * registered with {@link registerHeadKind}. Every output needs a head and
 * every head an output; both lists of mismatches are reported at once.
 *
 * ## Logits
 * Losses work on raw (pre-activation) outputs in numerically stable form.
 * When an output's last layer applies softmax or sigmoid (a Dense with that
 * activation, an `activation` layer or a `softmax` layer), the loss is
 * computed from that layer's pre-activation tensor, read off the same graph;
 * the activation is applied again for metrics and predictions. An output with
 * no final activation is taken as the logits themselves. A final softmax or
 * sigmoid inside another kind of layer (e.g. a Conv2D with activation
 * softmax) is refused: give that layer a linear activation and add an
 * `activation` layer after it.
 *
 * ## Shared variables
 * What gradient methods balance is derived from the graph: walking back from
 * each output, the layers reachable from two or more outputs are shared,
 * those reachable from one belong to that output's head
 * ({@link describeSharing} lists them; `sharedVariables` overrides). 'rep'
 * mode needs a single tensor handed from the shared layers to the heads (the
 * shared representation); with several (skip connections from shared layers
 * into heads) it is a configuration error and 'param' mode works. A
 * gradient method on a model where no layer feeds two outputs is an error.
 *
 * ## Data
 * Training and validation data come as arrays, typed arrays or tensors
 * ({@link ArrayData}: `xs`, `ys` by output, optional `masks` and
 * `sampleWeights` by output), a `tf.data.Dataset` of such batches (or single
 * examples), or an (async) iterable of batches. A missing label is `null`,
 * `undefined` or NaN, or a 0 in the output's mask; it contributes nothing to
 * that output's loss, gradient or metrics. Arrays are held in memory and
 * shuffled every epoch with the run's seed. A dataset or iterable streams: a
 * first pass keeps only the labels (to fit the heads and take the validation
 * split), then every epoch reads it again and its rows go to the trainer as
 * they arrive, in the source's own order (never reshuffled; use
 * `dataset.shuffle()`), cut into batches of `training.batchSize`. The same
 * rows in the same order as arrays with `training.shuffle: false` give the
 * same model. A generator object can be read only once and is kept in memory
 * after its first pass. Rows where every output is unlabelled are dropped.
 *
 * ## Custom parts
 * Registered by name, so that heads here and config-built models alike can
 * use them: {@link registerLoss} (a per-sample loss; multiloss applies the
 * mask, the weights and the reduction; a wrong shape or a NaN/infinity is an
 * error naming the head), {@link registerMetric} (a {@link StreamingMetric}),
 * {@link registerHeadKind}, {@link registerBalancingMethod} (a
 * {@link LossBalancer} or a {@link GradientBalancer}). A custom loss and the
 * output shapes are checked on the first rows before any weight changes.
 *
 * ## Not supported (yet)
 * Models with several inputs; layers that draw unseeded random numbers in
 * training (GaussianNoise, GaussianDropout, AlphaDropout, SpatialDropout1D:
 * use Dropout, whose masks multiloss seeds); layer regularizers and
 * constraints (not applied: use `optimizer: { name: 'adamw', weightDecay }`);
 * streaming a dataset larger than memory.
 *
 * @module
 */
export { trainLayersModel, trainFunctionModel, describeSharing } from './train.js';
export type { TrainOptions, TrainLayersModelOptions, TrainingResult } from './train.js';
export { resolveTrainingOptions, type TrainingConfig, type TrainerOptions } from '../training/options.js';
export type { TrainingCallbacks, TrainingCheckpoint, ResumePoint, InterruptFlag, NamedTensor, TrainerState, TrainingControl, CheckpointReason, EpochSums } from '../training/types.js';
export { headEpochLogs, type TrainingEpochLog, type HeadEpochLog } from '../training/history.js';
export { registerHeadKind, headKindDefinition } from './heads.js';
export type { HeadConfig, HeadKindDefinition, MetricInput } from './heads.js';
export type { ValidationFigure } from '../model/heads/factory.js';
export type { ArrayData, DataSource, DatasetLike, LabelInput, MaskInput, NumericInput, WeightInput } from './data.js';
export { LayersModelNetwork } from './layers-network.js';
export type { LayersModelNetworkOptions, SharingDescription } from './layers-network.js';
export { FunctionNetwork } from './function-network.js';
export type { ForwardContext, FunctionModel } from './function-network.js';

// The registries of the core modules, and the contracts a custom part implements.
export { registerLoss, registeredLosses, customLoss, BUILT_IN_LOSS_OPTIONS } from '../losses/index.js';
export type { CustomLossFn, RegisterLossOptions, LossFunction, LossOptions } from '../losses/index.js';
export { registerMetric, createMetric, metricsForKind } from '../metrics/index.js';
export type { RegisterMetricOptions } from '../metrics/index.js';
export type { StreamingMetric } from '../metrics/metric.js';
export { registerBalancingMethod, registeredBalancingMethods } from '../balancing/index.js';
export type { BalanceSpec, BalancingMethodFactory, GradientMode } from '../balancing/index.js';
export type { BalancedHead, BalancingStrategy, GradientBalancer, LossBalancer, StepContext, StepFeedback, BalancerRequirements } from '../balancing/strategy.js';
export type { Head, HeadActivation, HeadPrediction, EncodedTargets, HeadKind, HeadSpec, HeadJSON, ClassificationPrediction, BinaryPrediction, MultilabelPrediction } from '../model/heads/head.js';
export type { Table, Cell } from '../data/table.js';
export type { TrainableNetwork, OutputSpec, LastBlockCapture } from '../model/trainable-network.js';
export type { BatchLog, EpochLog, HeadLog, History, SplitLog } from '../training/history.js';
export type { GradientDiagnostics, SolverDiagnostics } from '../training/diagnostics.js';
export {
  describeStop,
  effectiveEarlyStopping,
  DEFAULT_MONITOR,
  DEFAULT_PATIENCE,
  DEFAULT_EPOCHS,
  DEFAULT_EPOCHS_WITHOUT_STOPPING,
  type StopReason,
  type TrainingStop,
  type EarlyStoppingMonitor,
  type EarlyStoppingSpec,
} from '../training/early-stopping.js';
export type { Rng } from '../util/rng.js';
export { OPTIMIZERS, type OptimizerName, type OptimizerSpec } from '../training/optimizers.js';
export type { ScheduleSpec } from '../training/schedules.js';
