/**
 * The library API for people who already have a model: train any functional
 * tfjs `LayersModel` with named outputs ({@link trainLayersModel}), or a model
 * written as tfjs-core code ({@link trainFunctionModel}), through multiloss's
 * training loop — a head per output, masked and weighted losses, a balancing
 * method (loss-based or gradient-based), streaming metrics, callbacks, early
 * stopping and checkpoints.
 *
 * Custom parts are registered by name, so that heads here and config files
 * alike can use them: {@link registerLoss}, {@link registerMetric},
 * {@link registerHeadKind}, {@link registerBalancingMethod}.
 *
 * Data comes as arrays/typed arrays/tensors ({@link ArrayData}), a
 * `tf.data.Dataset` of batches, or an (async) iterable of batches. A dataset
 * or iterable is read whole before training starts (it must be finite and
 * fit in memory); the trainer then shuffles and batches it with its own seed.
 *
 * @module
 */
export { trainLayersModel, trainFunctionModel, describeSharing, trainerOptions, headEpochLogs } from './train.js';
export type {
  TrainOptions,
  TrainLayersModelOptions,
  TrainingConfig,
  TrainingCallbacks,
  TrainingCheckpoint,
  TrainingEpochLog,
  HeadEpochLog,
  TrainingResult,
  ResumeFrom,
} from './train.js';
export { registerHeadKind, headKindDefinition } from './heads.js';
export type { HeadConfig, HeadKindDefinition, MetricInput } from './heads.js';
export type { ArrayData, DataSource, DatasetLike, LabelInput, MaskInput, NumericInput, WeightInput } from './data.js';
export { LayersModelNetwork } from './layers-network.js';
export type { LayersModelNetworkOptions, SharingDescription } from './layers-network.js';
export { FunctionNetwork } from './function-network.js';
export type { ForwardContext, FunctionModel } from './function-network.js';

// The registries of the core modules, and the contracts a custom part implements.
export { registerLoss, registeredLosses, customLoss } from '../losses/index.js';
export type { CustomLossFn, RegisterLossOptions, LossFunction, LossOptions } from '../losses/index.js';
export { registerMetric, createMetric, metricsForKind } from '../metrics/index.js';
export type { RegisterMetricOptions } from '../metrics/index.js';
export type { StreamingMetric } from '../metrics/metric.js';
export { registerBalancingMethod, registeredBalancingMethods } from '../balancing/index.js';
export type { BalanceSpec, BalancingMethodFactory } from '../balancing/index.js';
export type { BalancedHead, BalancingStrategy, GradientBalancer, LossBalancer, StepContext, StepFeedback, BalancerRequirements } from '../balancing/strategy.js';
export type { Head, HeadActivation, HeadPrediction, EncodedTargets } from '../model/heads/head.js';
export type { TrainableNetwork, OutputSpec, LastBlockCapture } from '../model/trainable-network.js';
export type { BatchLog, EpochLog, HeadLog, History, SplitLog } from '../training/history.js';
export type { GradientDiagnostics } from '../training/diagnostics.js';
export type { EarlyStoppingSpec, InterruptFlag, NamedTensor, TrainerState, TrainingControl, CheckpointReason, TrainerCheckpoint, EpochSums } from '../training/trainer.js';
export type { OptimizerName, OptimizerSpec } from '../training/optimizers.js';
export type { ScheduleSpec } from '../training/schedules.js';
