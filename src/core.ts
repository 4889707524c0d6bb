/**
 * The shared core of multiloss: everything that runs alike in Node and in a browser (data,
 * configuration, model and heads, losses, metrics, balancing, training, separate models, the
 * library API for your own model, architectures, image inputs). Nothing here imports a Node
 * built-in or a Node-only module; test/browser/bundle.test.ts bundles it for the browser to
 * keep it so. Re-exported by the Node entry (./index.ts) and the browser entry (./browser.ts).
 */
export { MultilossError, isMultilossError, type ErrorKind } from './errors.js';
export { VERSION, FORMAT_VERSION } from './version.js';

// Data
export * from './data/index.js';

// Configuration
export { ConfigSchema, parseConfig, type Config } from './config/schema.js';
export { resolveConfig, DEFAULTS, type ResolvedConfig } from './config/resolve.js';

// Model and heads
export * from './model/heads/index.js';
export { MultiHeadNetwork, activateOutput, layerSafeName, type OutputSpec } from './model/network.js';
export { TRUNK_ACTIVATIONS, type DenseBlockSpec, type TrunkActivation } from './model/blocks.js';
export {
  MultilossModel,
  WEIGHTS_FILE,
  type Evaluation,
  type LayersModelJSON,
  type ModelArtifacts,
  type ModelInfo,
  type MultilossJSON,
  type Prediction,
  METADATA_KEY,
} from './model/multiloss-model.js';
export { saveModelTo, loadModelFrom, toTfjsArtifacts, type ModelLocation } from './model/model-io.js';

// Losses and metrics
export * from './losses/index.js';
export * from './metrics/index.js';

// Balancing
export * from './balancing/index.js';

// Training
export { fitModel, type FitInput, type FitOptions } from './training/fit.js';
export { trainFromTable } from './training/train-from-table.js';
export { Trainer, evaluateEncoded, headLosses, type TensorBatch } from './training/trainer.js';
export { runTraining, type TrainingRun, type TrainingOutcome, type RunData, type FinalMetrics } from './training/run.js';
export type { BatchLog, EpochLog, HeadLog, History, SplitLog } from './training/history.js';
export type { EncodedData } from './training/data.js';
export { createOptimizer, OPTIMIZERS, type OptimizerName, type OptimizerSpec, type TrainingOptimizer } from './training/optimizers.js';
export { learningRateAt, type ScheduleSpec } from './training/schedules.js';
export { Rng } from './util/rng.js';

// Separate models (docs/compare.md)
export { type MultiOutputModel, type Approach, APPROACHES } from './model/multi-output.js';
export { SeparateModels, isSeparateModels, mergeSplitLogs, type SeparateJSON, type SeparateModelInfo, type SubModelInfo } from './model/separate-models.js';
export { fitSeparate, fitByApproach, type SeparateFitOptions } from './training/fit-separate.js';
export { splitInput, labelledRows, tableStrata, type InputSplit } from './training/fit.js';
export type { SeparateCheckpoint, SeparateResumePoint } from './training/fit-separate.js';

// Library API for your own model: any functional LayersModel or a forward function (src/api)
export {
  trainLayersModel,
  trainFunctionModel,
  describeSharing,
  resolveTrainingOptions,
  headEpochLogs,
  registerHeadKind,
  headKindDefinition,
  LayersModelNetwork,
  FunctionNetwork,
  type TrainOptions,
  type TrainLayersModelOptions,
  type TrainingConfig,
  type TrainerOptions,
  type TrainingCallbacks,
  type TrainingCheckpoint,
  type TrainingEpochLog,
  type HeadEpochLog,
  type TrainingResult,
  type ResumePoint,
  type InterruptFlag,
  type NamedTensor,
  type TrainerState,
  type TrainingControl,
  type CheckpointReason,
  type EpochSums,
  type EarlyStoppingMonitor,
  type EarlyStoppingSpec,
  type HeadConfig,
  type HeadKindDefinition,
  type ValidationFigure,
  type MetricInput,
  type ArrayData,
  type DataSource,
  type DatasetLike,
  type LabelInput,
  type MaskInput,
  type NumericInput,
  type WeightInput,
  type LayersModelNetworkOptions,
  type SharingDescription,
  type ForwardContext,
  type FunctionModel,
} from './api/index.js';
export type { TrainableNetwork, LastBlockCapture } from './model/trainable-network.js';
export type { GradientDiagnostics, HeadUpdate, SolverDiagnostics } from './training/diagnostics.js';
export { describeStop, effectiveEarlyStopping, DEFAULT_MONITOR, DEFAULT_PATIENCE, DEFAULT_EPOCHS, DEFAULT_EPOCHS_WITHOUT_STOPPING, type StopReason, type TrainingStop } from './training/early-stopping.js';

// Architectures and image inputs
export * from './model/architectures/index.js';
export * from './data/images/index.js';
export { fitImageModel, fitSeparateImages, evaluateImages, type ImageFitOptions, type SeparateImageFitOptions } from './training/fit-images.js';
export {
  predictImages,
  predictImageOutputs,
  checkImageShape,
  modelInputShape,
  isImageModel,
  imageInputSpecOf,
  imageReadOptions,
  modelPixelTransform,
  type ImagesToPredict,
} from './model/images.js';
export { isImageSource, type ImageSource, type ImageFolderSource, type IdxSource } from './config/schema.js';
export type { ImageInputSpec } from './config/resolve.js';
