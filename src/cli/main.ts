#!/usr/bin/env node
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { isMultilossError } from '../errors.js';
import { VERSION } from '../version.js';
import { DEFAULTS } from '../config/resolve.js';
import { architectureKinds } from '../model/architectures/index.js';
import { DEFAULT_PATIENCE } from '../training/early-stopping.js';
import { runCompare } from './commands/compare.js';
import { runEvaluate } from './commands/evaluate.js';
import { runInfo } from './commands/info.js';
import { runPredict } from './commands/predict.js';
import { runTrain } from './commands/train.js';
import { runWorker } from './commands/worker.js';

function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a whole number ≥ 1`);
    return n;
  };
}
function number(name: string, check: (n: number) => boolean, expected: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || !check(n)) throw new InvalidArgumentError(`${name} must be ${expected}`);
    return n;
  };
}
function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

export function buildProgram(): Command {
  const program = new Command('multiloss')
    .description('Train and use multi-output models: several heads, each with its own loss, trained together.')
    .version(VERSION, '-V, --version')
    .showHelpAfterError(false)
    .configureOutput({ outputError: () => undefined });

  program
    .command('train')
    .description('train a model from a config file and/or flags, and save it')
    .option('-c, --config <file>', 'YAML or JSON configuration')
    .option('--data <file>', 'training data (CSV, TSV, JSON, JSON-lines, Parquet, Arrow IPC)')
    .option('--images <dir|file>', 'image data: a folder of PNG/JPEG files (with --labels), or an IDX images file (MNIST format, gzipped or not)')
    .option('--labels <file>', 'with --images: the labels file (CSV) naming each image file in its "file" column, or the IDX labels file')
    .option('--file-column <name>', 'with --images DIR: the labels file\'s column naming each image file (default "file")')
    .option('--channels <n>', 'with --images DIR: 1 (grayscale) or 3 (RGB, default)', number('--channels', (n) => n === 1 || n === 3, '1 or 3'))
    .option('--size <HxW>', 'with --images: resize every image to HEIGHTxWIDTH (bilinear), e.g. 28x28')
    .option('--scale <scale>', 'with --images: pixel values unit [0, 1] (default), symmetric [-1, 1] or standardize (per channel, training images\' mean and std)')
    .option('--target <name:kind>', 'a target column and its head kind (repeatable), e.g. species:classification', collect)
    .option('--features <columns>', 'comma-separated feature columns (default: every non-target column)')
    .option('--epochs <n>', 'training epochs', positiveInt('--epochs'))
    .option('--batch-size <n>', 'mini-batch size', positiveInt('--batch-size'))
    .option('--lr <rate>', 'learning rate', number('--lr', (n) => n > 0, 'a number > 0'))
    .option('--validation-split <fraction>', 'share of rows held out for validation', number('--validation-split', (n) => n >= 0 && n < 1, 'a number in [0, 1)'))
    .option('--validation-data <file>', 'separate validation file (instead of a split)')
    .option('--seed <n>', 'random seed', number('--seed', Number.isInteger, 'a whole number'))
    .option('--patience <n>', `early stopping: epochs without improvement before training stops (default ${DEFAULT_PATIENCE}; early stopping is on by default when there is validation data)`, positiveInt('--patience'))
    .option('--no-early-stopping', `train every epoch (default ${DEFAULTS.epochsWithoutStopping} without early stopping) and keep the last epoch's weights`)
    .option('--balance <method[:mode]>', 'loss balancing method, e.g. uncertainty, famo, pcgrad:rep (see docs/balancing.md)')
    .option('--architecture <kind>', `multi-task architecture: ${architectureKinds().join(', ')} (options in the config; see docs/architectures.md)`)
    .addOption(new Option('--approach <approach>', 'joint: one network with a head per target; separate: one model per target (see docs/compare.md)').choices(['joint', 'separate']))
    .option('-o, --out <dir>', 'output model directory')
    .option('--checkpoint-every <n>', 'write a checkpoint every n epochs (and at the best epoch with early stopping)', positiveInt('--checkpoint-every'))
    .option('--checkpoint-dir <dir>', 'where checkpoints go (default: OUT.checkpoints)')
    .option('--resume <dir>', 'continue an interrupted run from its checkpoint directory')
    .option('--report <file>', 'also write a training report (one self-contained HTML file with charts)')
    .option('--stream', 'read the data in chunks, never whole: one pass to fit the preprocessing, one per epoch to train (shuffled within a buffer)')
    .option('--shuffle-buffer <rows>', 'with --stream: rows in the shuffle buffer (default 16384; 1 trains in file order)', positiveInt('--shuffle-buffer'))
    .option('--spill-dir <dir>', 'with --stream: the folder the parsed data is spilled to until training ends (default: the OS temporary folder)')
    .addOption(new Option('--backend <name>', 'compute backend').choices(['auto', 'wasm', 'cpu', 'tensorflow']).default('auto'))
    .option('--json', 'print the final metrics as JSON on stdout')
    .option('-q, --quiet', 'no progress output')
    .action(runTrain);

  program
    .command('compare')
    .description('train the separate models and the joint model under several balancing methods over several seeds, and compare them')
    .option('-c, --config <file>', 'YAML or JSON configuration')
    .option('--data <file>', 'training data (CSV, TSV, JSON, JSON-lines, Parquet, Arrow IPC)')
    .option('--target <name:kind>', 'a target column and its head kind (repeatable), e.g. species:classification', collect)
    .option('--features <columns>', 'comma-separated feature columns (default: every non-target column)')
    .option('--epochs <n>', 'training epochs of every run', positiveInt('--epochs'))
    .option('--batch-size <n>', 'mini-batch size', positiveInt('--batch-size'))
    .option('--lr <rate>', 'learning rate', number('--lr', (n) => n > 0, 'a number > 0'))
    .option('--validation-split <fraction>', 'share of rows held out for validation', number('--validation-split', (n) => n > 0 && n < 1, 'a number in (0, 1)'))
    .option('--validation-data <file>', 'separate validation file (instead of a split)')
    .option('--test-data <file>', 'held-out test file: the table, Δm and the report are computed on it (validation still drives early stopping)')
    .option('--seed <n>', 'first seed (the split uses it; runs use seed, seed+1, …)', number('--seed', Number.isInteger, 'a whole number'))
    .option('--methods <list>', 'comma-separated balancing methods of the joint model (default: equal,uncertainty,dwa,famo,pcgrad,mgda,nash,upgrad)')
    .option('--seeds <n>', 'seeds per configuration (default 3)', positiveInt('--seeds'))
    .option('--workers <n>', 'worker threads (default: one per core; 0: train in the main thread)', number('--workers', (n) => Number.isInteger(n) && n >= 0, 'a whole number ≥ 0'))
    .option('--monitor <name>', 'early stopping of every run: deltaM (Δm against the separate models), validation.loss, validation.<head>.<metric>')
    .option('--patience <n>', `early-stopping patience in epochs (default ${DEFAULT_PATIENCE})`, positiveInt('--patience'))
    .option('--no-early-stopping', 'every run trains every epoch and keeps its last weights')
    .option('--grid <file>', 'YAML grid: approaches, methods (with options), staticWeights, architectures, learningRates, seeds (see docs/compare.md); flags replace its entries')
    .option('--approaches <list>', 'comma-separated approaches to train: separate,joint (default both)')
    .option('--architectures <list>', 'comma-separated architectures of the joint model, e.g. shared,mmoe')
    .option('--learning-rates <list>', 'comma-separated learning rates, e.g. 0.01,0.003')
    .option('--tuned-static', 'add the tuned-static row (static weights searched on the validation data; on by default with the default methods)')
    .option('--no-tuned-static', 'leave the tuned-static row out')
    .option('--tuned-static-trials <n>', 'weight vectors the tuned-static search tries (default 8)', positiveInt('--tuned-static-trials'))
    .option('--tuned-static-epochs <n>', 'epochs of each tuned-static trial (default: the runs\' budget)', positiveInt('--tuned-static-epochs'))
    .option('--auto', 'choose a method: successive halving over --methods (each gradient method in each of --modes) and tuned-static by validation Δm on short budgets, then train the winner with the full budget (see docs/compare.md)')
    .option('--auto-eta <n>', 'with --auto: keep the best 1/n at each rung, budgets n times longer (default 3)', positiveInt('--auto-eta'))
    .option('--auto-min-epochs <n>', 'with --auto: epochs of the first rung (default: the budget / eta^rungs)', positiveInt('--auto-min-epochs'))
    .option('--auto-rung-seeds <n>', 'with --auto: seeds per candidate in each rung (default 1)', positiveInt('--auto-rung-seeds'))
    .option('--modes <list>', 'with --auto: gradient modes a gradient method is tried in (default param,rep)')
    .option('--dry-run', 'print the resolved runs (id, row, seed) and stop')
    .option('--queue <url>', 'train on multiloss worker processes through a Redis queue: redis://[:password@]host[:port][/db] or rediss:// (see docs/scale.md)')
    .option('--resume <sweep>', 'with --queue: pick up a sweep by its id (its configuration, grid and data come from the queue)')
    .option('--attempts <n>', 'with --queue: attempts per run before it is reported failed (default 3)', positiveInt('--attempts'))
    .option('--json <file>', 'also write the results as JSON')
    .option('--report <file>', 'also write an HTML report (table and charts)')
    .addOption(new Option('--backend <name>', 'compute backend').choices(['auto', 'wasm', 'cpu', 'tensorflow']).default('auto'))
    .option('-q, --quiet', 'no progress output')
    .action(runCompare);

  program
    .command('worker')
    .description('train the runs of distributed sweeps (compare --queue) from a Redis queue until stopped (SIGTERM/SIGINT: finish the current run, then stop)')
    .requiredOption('--queue <url>', 'redis://[:password@]host[:port][/db] or rediss:// (TLS)')
    .option('--concurrency <n>', 'worker processes on this machine, one run each at a time (default 1)', positiveInt('--concurrency'))
    .option('--models-dir <dir>', 'save each trained model to DIR/RUN_ID (shared storage)')
    .addOption(new Option('--lock-duration <ms>', 'milliseconds a run stays locked without renewal: a dead worker\'s run is taken over after this (default 30000)').argParser(positiveInt('--lock-duration')))
    .addOption(new Option('--stalled-interval <ms>', 'milliseconds between checks for runs of dead workers (default 30000)').argParser(positiveInt('--stalled-interval')))
    .addOption(
      new Option('--prefetch-below <seconds>', 'while runs take less than this, hold the next run in reserve to hide the queue round trip (default 5; 0: never)').argParser(
        number('--prefetch-below', (n) => n >= 0, 'a number of seconds ≥ 0'),
      ),
    )
    .addOption(new Option('--backend <name>', 'compute backend').choices(['auto', 'wasm', 'cpu', 'tensorflow']).default('auto'))
    .option('-q, --quiet', 'no log output')
    .action(runWorker);

  program
    .command('predict')
    .description('predict every head for the rows of a data file')
    .argument('[model]', 'model directory')
    .argument('[data]', 'data file')
    .option('-m, --model <dir>', 'model directory')
    .option('-d, --data <file>', 'data file (CSV, TSV, JSON, JSON-lines, Parquet, Arrow IPC)')
    .option('--images <dir|file>', 'images instead of a data file: a folder of PNG/JPEG files, or an IDX images file')
    .option('--labels <file>', 'with --images: optional labels file (CSV naming each image file, or IDX labels)')
    .option('--file-column <name>', 'with --images DIR --labels FILE: the column naming each image file (default: as in training)')
    .option('-o, --out <file>', 'write here instead of stdout (format from the extension)')
    .addOption(new Option('--format <format>', 'output format').choices(['csv', 'jsonl', 'parquet']))
    .option('--keep <columns>', 'comma-separated input columns to copy into the output')
    .addOption(new Option('--backend <name>', 'compute backend').choices(['auto', 'wasm', 'cpu', 'tensorflow']).default('auto'))
    .action(runPredict);

  program
    .command('evaluate')
    .description('per-head losses and metrics on labelled data')
    .argument('[model]', 'model directory')
    .argument('[data]', 'data file')
    .option('-m, --model <dir>', 'model directory')
    .option('-d, --data <file>', 'labelled data file')
    .option('--images <dir|file>', 'images instead of a data file: a folder of PNG/JPEG files, or an IDX images file')
    .option('--labels <file>', 'with --images: the labels file (CSV naming each image file, or IDX labels)')
    .option('--file-column <name>', 'with --images DIR --labels FILE: the column naming each image file (default: as in training)')
    .option('--json', 'print JSON instead of a table')
    .addOption(new Option('--backend <name>', 'compute backend').choices(['auto', 'wasm', 'cpu', 'tensorflow']).default('auto'))
    .action(runEvaluate);

  program
    .command('info')
    .description('heads, parameters and training summary of a saved model')
    .argument('[model]', 'model directory')
    .option('-m, --model <dir>', 'model directory')
    .option('--json', 'print JSON')
    .addOption(new Option('--backend <name>', 'compute backend').choices(['auto', 'wasm', 'cpu', 'tensorflow']).default('auto'))
    .action(runInfo);

  return program;
}

/** Runs the CLI; resolves to the process exit code. Bad input → one line on stderr and 2. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram().exitOverride();
  program.commands.forEach((c) => c.exitOverride().configureOutput({ outputError: () => undefined }));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      process.stderr.write(`multiloss: ${e.message.replace(/^error: /, '')}\n`);
      return 2;
    }
    if (isMultilossError(e)) {
      process.stderr.write(`multiloss: ${e.message}\n`);
      return e.exitCode;
    }
    process.stderr.write(`multiloss: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`multiloss: internal error: ${String(e)}\n`);
    process.exitCode = 1;
  },
);
