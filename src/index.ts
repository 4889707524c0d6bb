/**
 * multiloss: multi-output models for TypeScript — several heads, each with its
 * own loss, trained together with the losses kept in balance.
 *
 * This entry is for Node (it includes file I/O and backend selection). The
 * core modules it re-exports (model, heads, losses, balancing, training,
 * data, metrics) import nothing from Node and run in a browser as well.
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
export { MultiHeadNetwork, activateOutput, layerSafeName, TRUNK_ACTIVATIONS, type DenseBlockSpec, type OutputSpec, type TrunkActivation } from './model/network.js';
export {
  MultilossModel,
  WEIGHTS_FILE,
  type Evaluation,
  type LayersModelJSON,
  type ModelArtifacts,
  type ModelInfo,
  type MultilossJSON,
  type Prediction,
} from './model/multiloss-model.js';

// Losses and metrics
export * from './losses/index.js';
export * from './metrics/index.js';

// Balancing
export * from './balancing/index.js';

// Training
export { fitModel, type FitInput, type FitOptions } from './training/fit.js';
export { Trainer, evaluateEncoded, headLosses, type TensorBatch, type TrainerCallbacks, type TrainerOptions, type TrainingControl } from './training/trainer.js';
export type { BatchLog, EpochLog, HeadLog, History, SplitLog } from './training/history.js';
export type { EncodedData } from './training/data.js';
export { createOptimizer, OPTIMIZERS, type OptimizerName, type OptimizerSpec, type TrainingOptimizer } from './training/optimizers.js';
export { learningRateAt, type ScheduleSpec } from './training/schedules.js';
export { Rng } from './training/rng.js';

// Node: files, model directories, backend
export { readTableFile } from './io/table-file.js';
export { readConfigFile } from './io/config-file.js';
export { saveModel, loadModel, MODEL_FILE, META_FILE } from './io/model-dir.js';
export { writeFileAtomic } from './io/files.js';
export { initBackend, backendInfo, type BackendInfo } from './engine/backend.js';
export { registerWasmKernelFixes } from './engine/wasm-kernels/index.js';
export { trainFromConfig } from './io/train-from-config.js';

// Separate models and comparisons (docs/compare.md)
export { type MultiOutputModel, type Approach, APPROACHES } from './model/multi-output.js';
export { SeparateModels, isSeparateModels, mergeSplitLogs, type SeparateJSON, type SeparateModelInfo, type SubModelInfo } from './model/separate-models.js';
export { fitSeparate, fitByApproach, type SeparateFitOptions } from './training/fit-separate.js';
export { splitInput, type InputSplit } from './training/fit.js';
export { saveAnyModel, loadAnyModel, saveSeparate, loadSeparate, isSeparateDir } from './io/separate-dir.js';
export {
  compare,
  compareSplit,
  compareTasks,
  compareHeads,
  checkMethods,
  deltaM,
  seedStat,
  summarize,
  runConfig,
  DEFAULT_COMPARE_METHODS,
  DEFAULT_COMPARE_SEEDS,
  SEPARATE,
  type CompareOptions,
  type CompareProgress,
  type CompareResult,
  type CompareRow,
  type CompareHead,
  type SeedStat,
  type RunKind,
  type RunResult,
} from './compare/compare.js';
export {
  fitWithDeltaMStopping,
  deltaMReference,
  deltaMOf,
  DELTA_M_MONITOR,
  isDeltaMMonitor,
  stopsOnDeltaM,
  type DeltaMReference,
  type DeltaMStopping,
} from './compare/compare.js';
export type { SeparateCheckpoint, SeparateResumePoint } from './training/fit-separate.js';
export { formatCompareTable, compareReportHtml, compareNotes } from './compare/report.js';

// Library API for your own model: any functional LayersModel or a forward function (src/api)
export {
  trainLayersModel,
  trainFunctionModel,
  describeSharing,
  trainerOptions,
  headEpochLogs,
  registerHeadKind,
  headKindDefinition,
  LayersModelNetwork,
  FunctionNetwork,
  type TrainOptions,
  type TrainLayersModelOptions,
  type TrainingConfig,
  type TrainingCallbacks,
  type TrainingCheckpoint,
  type TrainingEpochLog,
  type HeadEpochLog,
  type TrainingResult,
  type ResumeFrom,
  type HeadConfig,
  type HeadKindDefinition,
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
export type { EarlyStoppingMonitor, EarlyStoppingSpec, InterruptFlag, NamedTensor, TrainerState, TrainerCheckpoint, CheckpointReason } from './training/trainer.js';
export type { GradientDiagnostics, SolverDiagnostics } from './training/diagnostics.js';

// Architectures and image inputs
export * from './model/architectures/index.js';
export * from './data/images/index.js';
export { readIdxFile, readIdxImages, readImageFolder, loadMnistDigits, type ImageFolderOptions } from './data/images/node.js';
