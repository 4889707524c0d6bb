import cliProgress from 'cli-progress';
import { fmt } from './format.js';
import type { TrainingCallbacks } from '../training/types.js';
import type { EpochLog, SplitLog } from '../training/history.js';

function epochLine(log: EpochLog, epochs: number): string {
  const heads = Object.entries(log.train.heads).map(([name, h]) => {
    const v = log.validation?.heads[name];
    const metric = v ? Object.entries(v.metrics)[0] : undefined;
    return `${name} ${fmt(h.loss)}${v ? ` (val ${fmt(v.loss)}${metric ? ` ${metric[0]} ${fmt(metric[1])}` : ''})` : ''}`;
  });
  return `epoch ${log.epoch}/${epochs}  ${totalName(log.train)} ${fmt(log.train.loss)}${log.validation ? `  val ${fmt(log.validation.loss)}` : ''}  ${heads.join('  ')}  ${log.seconds.toFixed(2)}s`;
}

/** What the epoch's total is (SplitLog.total): the unweighted sum of head losses, or weighted by the method. */
export function totalName(split: SplitLog): string {
  return split.total === 'sum' ? 'loss (sum)' : split.total === 'weighted' ? 'loss (weighted)' : 'loss';
}

/**
 * Training progress on stderr: a live bar (epoch, batch, per-head loss) on a
 * terminal, one plain line per epoch otherwise (logs, CI).
 */
export function progressCallbacks(stream: NodeJS.WriteStream, quiet: boolean): { callbacks: TrainingCallbacks; done(): void } {
  if (quiet) return { callbacks: {}, done: () => undefined };
  let epochs = 0;
  if (!stream.isTTY) {
    return {
      callbacks: {
        onTrainBegin: (info) => {
          epochs = info.epochs;
        },
        onEpochEnd: (log) => {
          stream.write(`${epochLine(log, epochs)}\n`);
        },
      },
      done: () => undefined,
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: 'epoch {epoch}/{epochs} |{bar}| {value}/{total} batches | loss {loss} | {heads}',
      hideCursor: true,
      clearOnComplete: true,
      barsize: 24,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    callbacks: {
      onTrainBegin: (info) => {
        epochs = info.epochs;
      },
      onBatchEnd: (log) => {
        const payload = {
          epoch: log.epoch,
          epochs,
          loss: fmt(log.loss),
          heads: Object.entries(log.headLosses)
            .map(([k, v]) => `${k} ${fmt(v)}`)
            .join(' '),
        };
        if (!started || log.batch === 1) {
          if (started) bar.stop();
          bar.start(log.batches, log.batch, payload);
          started = true;
        } else {
          bar.update(log.batch, payload);
        }
      },
      onEpochEnd: (log) => {
        if (started) bar.stop();
        started = false;
        stream.write(`${epochLine(log, epochs)}\n`);
      },
    },
    done: () => {
      if (started) bar.stop();
    },
  };
}
