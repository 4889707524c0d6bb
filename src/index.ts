/**
 * multiloss: multi-output models for TypeScript — several heads, each with its
 * own loss, trained together with the losses kept in balance.
 *
 * This entry is for Node (it includes file I/O and backend selection). The
 * core modules it re-exports (model, heads, losses, balancing, training,
 * data, metrics) import nothing from Node and run in a browser as well.
 */
export * from './core.js';

// Node: files, model directories, backend
export { readTableFile, readDataFile } from './io/table-file.js';
// The binary readers (Node entry; the browser's readTableFrom loads them on demand).
export { readParquet, ParquetSource, PARQUET_CODECS, type AsyncBuffer } from './data/parquet.js';
export { readArrow } from './data/arrow.js';
export { readBinaryTable } from './data/binary.js';
export { readConfigFile } from './io/config-file.js';
export { saveModel, loadModel, MODEL_FILE, META_FILE } from './io/model-dir.js';
export { writeFileAtomic } from './io/files.js';
export { initBackend, backendInfo, type BackendInfo } from './engine/backend.js';
export { registerWasmKernelFixes } from './engine/wasm-kernels/index.js';
export { trainFromConfig } from './io/train-from-config.js';

// Comparisons (docs/compare.md)
export { saveAnyModel, loadAnyModel, saveSeparate, loadSeparate, isSeparateDir } from './io/separate-dir.js';
export {
  compare,
  compareSplit,
  compareImages,
  compareImageSplit,
  type CompareImages,
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
  type CompareInput,
  type CompareOptions,
  type CompareProgress,
  type MetricsData,
  type FiguresOf,
  type CompareResult,
  type CompareRow,
  type CompareHead,
  type SeedStat,
  type RunKind,
  type RunResult,
  sweepTasks,
  sweepIdOf,
  compareBase,
  type FailedRun,
  type RunExecutor,
  type RunOutcome,
  type ExecutorStatus,
} from './compare/compare.js';
// Sweep grids, run ids and distributed sweeps (docs/compare.md, docs/scale.md); bullmq and ioredis are loaded only when a queue is used.
export { GridSchema, parseGrid, resolveGrid, variantConfig, type Grid, type GridRow, type ResolvedGrid, type RunVariant } from './compare/grid.js';
export { runId, sweepId, fileFingerprint, dataFingerprint, canonicalJson } from './compare/run-id.js';
export { queueExecutor, readSweepRecord, type QueueExecutorOptions } from './compare/queue/coordinator.js';
export { startQueueWorker, type QueueWorker, type QueueWorkerOptions } from './compare/queue/worker.js';
export { SWEEP_FORMAT_VERSION, type DataRefs, type FileRef, type RunJob } from './compare/queue/job.js';
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
export { formatCompareTable, compareReportHtml, compareNotes, metricsDataLine, formatTunedStaticTrials, type CompareReportOptions } from './compare/report.js';
// The tuned static baseline and choosing a method automatically (docs/compare.md).
export { runTasks, tunedStaticPlanOf, type RunPlacement, type RunHooks } from './compare/compare.js';
export {
  staticCandidates,
  planTunedStatic,
  TUNED_STATIC,
  DEFAULT_TUNED_STATIC_TRIALS,
  type TunedStaticOptions,
  type TunedStaticPlan,
  type TunedStaticResult,
  type TunedStaticTrial,
  type HeadWeights,
} from './compare/tuned-static.js';
export { gradientConflict, type GradientConflict } from './compare/conflict.js';
export {
  autoBalance,
  DEFAULT_AUTO_ETA,
  type AutoBalanceOptions,
  type AutoBalanceResult,
  type AutoProgress,
  type AutoRung,
  type AutoCost,
} from './compare/auto/auto-balance.js';
export { halvingSchedule, promote, type HalvingOptions, type Rung } from './compare/auto/schedule.js';
export { autoCandidates, AUTO_MODES, type AutoCandidate } from './compare/auto/candidates.js';
export { type RungRow, type StepCost, type ConflictSummary } from './compare/auto/reasons.js';
export { formatAutoReport, autoReportHtml } from './compare/auto/report.js';

// Image files
export {
  readIdxFile,
  readIdxImages,
  readImageFolder,
  streamImageFolder,
  readImagesForModel,
  indexImageFolder,
  decodeImageFile,
  loadMnistDigits,
  type ImageFolderOptions,
  type ImageFolderIndex,
  type DecodedImage,
} from './io/image-files.js';
export { readImageSource, readNamedImages, imageReaderOptions, imageSourceFingerprint, readCompareImages, type NamedImages, type ImageReading, type UnlabelledFolder } from './io/image-source.js';
