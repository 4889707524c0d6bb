// npm run bench -- queue [short]: a sweep on the local worker-thread pool vs on a BullMQ queue with
// 1, 2 and 4 `multiloss worker` processes against one local redis-server (fresh for every setting,
// so nothing is reused). Wall time of the coordinator (`multiloss compare`, from start to table),
// runs per minute, and the queue's overhead per job.
//
// Overhead per job, from the jobs' own timestamps with one worker process: the time from the first
// job's end to the last job's end, less the training time (RunResult.seconds) of the jobs finished
// in between, divided by their number. It is the worker's time between trainings: storing a
// result, taking the next job, checking it and its data, building the run's figures after training.
// The first job is left out (it also warms up and reads the data).
//
// `short` runs only the sweep of many short runs (1 epoch) with one worker, with the next job held
// in reserve (the default) and taken one at a time (--prefetch-below 0): the setting least
// sensitive to the machine's load. The wall times are also affected by whatever else the machine
// runs; the load average is printed.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { ROOT, tempDir } from '../test/helpers.js';
import { background, startRedis, type Background } from '../test/compare/redis-server.js';
import { writePenguinCsv } from './synthetic-penguins.js';
import { QUEUE_NAME, QUEUE_PREFIX } from '../src/compare/queue/connection.js';
import { loadQueueLibraries } from '../src/compare/queue/libraries.js';

interface Sweep {
  name: string;
  args: string[];
  runs: number;
}

function timed(args: string[]): Promise<{ seconds: number; runSeconds: number }> {
  return new Promise((resolve, reject) => {
    const dir = tempDir('multiloss-bench-');
    const json = join(dir, 'r.json');
    const start = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args, '--quiet', '--json', json], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.on('close', async (code) => {
      const seconds = (performance.now() - start) / 1000;
      if (code !== 0) return reject(new Error(`compare exited ${code}`));
      const { readFileSync } = await import('node:fs');
      const runs = (JSON.parse(readFileSync(json, 'utf8')) as { runs: { seconds: number }[] }).runs;
      resolve({ seconds, runSeconds: runs.reduce((a, r) => a + r.seconds, 0) });
    });
  });
}

/** Per job after the first (which also warms up and reads the data): ms of its worker's time not spent in the run's training. */
async function overheadPerJob(url: string): Promise<number> {
  const { bullmq, Redis } = await loadQueueLibraries();
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const queue = new bullmq.Queue(QUEUE_NAME, { connection, prefix: QUEUE_PREFIX });
  try {
    const jobs = (await queue.getJobs(['completed'])).sort((a, b) => (a.finishedOn ?? 0) - (b.finishedOn ?? 0));
    const later = jobs.slice(1);
    const training = later.reduce((a, j) => a + (j.returnvalue as { seconds: number }).seconds * 1000, 0);
    return ((jobs[jobs.length - 1].finishedOn ?? 0) - (jobs[0].finishedOn ?? 0) - training) / later.length;
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

async function onQueue(sweep: Sweep, workers: number, workerArgs: string[] = []): Promise<{ seconds: number; runSeconds: number; overheadMs: number }> {
  const redis = await startRedis();
  const procs: Background[] = [];
  try {
    for (let i = 0; i < workers; i++) procs.push(background(['worker', '--queue', redis.url, ...workerArgs]));
    await Promise.all(procs.map((p) => p.waitFor(/ on redis:\/\//)));
    const r = await timed([...sweep.args, '--queue', redis.url]);
    return { ...r, overheadMs: await overheadPerJob(redis.url) };
  } finally {
    for (const p of procs) p.child.kill('SIGTERM');
    await Promise.all(procs.map((p) => p.exited));
    await redis.stop();
  }
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(', ');

/** Many short runs on one worker: the next job held in reserve (default) vs one at a time. */
async function shortRuns(say: (line: string) => void): Promise<void> {
  const sweep: Sweep = {
    name: 'short runs (penguins, 1 epoch; separate + equal × 40 seeds)',
    args: ['compare', '--config', 'examples/penguins.yaml', '--epochs', '1', '--no-early-stopping', '--methods', 'equal', '--seeds', '40'],
    runs: 80,
  };
  say(`\n${sweep.name}: ${sweep.runs} runs, 1 worker process; load average ${load()}`);
  say('setting                                   overhead ms/job   mean run s   % of a 1 s run');
  for (const [what, args] of [
    ['next job in reserve (default)', []],
    ['one job at a time (--prefetch-below 0)', ['--prefetch-below', '0']],
    ['next job in reserve (default), again', []],
    ['one job at a time, again', ['--prefetch-below', '0']],
  ] as const) {
    const r = await onQueue(sweep, 1, [...args]);
    say(`${what.padEnd(42)}${r.overheadMs.toFixed(1).padStart(15)}   ${(r.runSeconds / sweep.runs).toFixed(3).padStart(10)}   ${(r.overheadMs / 10).toFixed(2).padStart(14)}`);
  }
  say(`load average after: ${load()}`);
}

export async function runQueueBench(only?: string): Promise<void> {
  await shortRuns((l) => console.log(l));
  if (only === 'short') return;
  const dir = tempDir('multiloss-bench-');
  const synthetic = join(dir, 'synthetic.csv');
  writePenguinCsv(synthetic, 5_000, true);
  const sweeps: Sweep[] = [
    {
      name: 'penguins (344 rows, 20 epochs; separate + 8 methods × 3 seeds)',
      args: ['compare', '--config', 'examples/penguins.yaml', '--epochs', '20', '--no-early-stopping'],
      runs: 27,
    },
    {
      name: 'synthetic (5,000 rows, 2 epochs; separate + 5 methods × 4 seeds)',
      args: [
        'compare',
        '--data',
        synthetic,
        '--target',
        'Species:classification',
        '--target',
        'Sex:classification',
        '--target',
        'Body Mass (g):regression',
        '--epochs',
        '2',
        '--no-early-stopping',
        '--methods',
        'equal,uncertainty,famo,pcgrad,mgda',
        '--seeds',
        '4',
      ],
      runs: 24,
    },
  ];
  const lines: string[] = [];
  const say = (l: string) => {
    console.log(l);
    lines.push(l);
  };
  for (const sweep of sweeps) {
    say(`\n${sweep.name}: ${sweep.runs} runs; load average ${load()}`);
    say('setting                        wall s   runs/min   Σ run s');
    const row = (what: string, r: { seconds: number; runSeconds: number }) =>
      say(
        `${what.padEnd(30)} ${r.seconds.toFixed(1).padStart(6)}   ${((60 * sweep.runs) / r.seconds).toFixed(1).padStart(8)}   ${r.runSeconds.toFixed(1).padStart(7)}`,
      );
    const one = await timed([...sweep.args, '--workers', '1']);
    row('local, 1 thread', one);
    row('local pool, 2 threads', await timed([...sweep.args, '--workers', '2']));
    const q1 = await onQueue(sweep, 1);
    row('queue, 1 worker process', q1);
    row('queue, 2 worker processes', await onQueue(sweep, 2));
    row('queue, 4 worker processes', await onQueue(sweep, 4));
    const perRun = q1.overheadMs;
    const meanRun = q1.runSeconds / sweep.runs;
    say(
      `queue overhead per job (1 worker, from the jobs' timestamps): ${perRun.toFixed(1)} ms; mean run ${meanRun.toFixed(2)} s: ${((100 * perRun) / 1000 / meanRun).toFixed(2)}% of a run, ${((100 * perRun) / 1000).toFixed(2)}% of a 1 s run`,
    );
    say(
      `coordinator wall time, queue with 1 worker vs local 1 thread: ${(q1.seconds - one.seconds).toFixed(1)} s (${q1.runSeconds.toFixed(1)} vs ${one.runSeconds.toFixed(1)} s of training: the machine's load)`,
    );
  }
  writeFileSync(join(dir, 'queue-bench.txt'), lines.join('\n'));
}
