// Memory of a large table (issue 22): peak RSS and rows/s of `multiloss train` for one epoch
// (load + preprocessing + the epoch + final metrics), in memory and with --stream, on the
// generated table of bench/synthetic-table.ts, beside pandas' read_csv of the same file; then the
// same table as Parquet (written from the CSV by DuckDB, an independent writer that streams it
// without holding the rows, in row groups of 65,536 rows), trained on the same way.
//
//   npm run bench -- table-memory [ROWS ...]     default 1000000 10000000
//
// Each run is a separate process reporting its peak RSS (bench/max-rss.ts), running the built
// package (dist/, rebuilt first with `npm run build`): what `npx multiloss` runs, without tsx's
// transpiled sources and source maps on the heap. "baseline" is the peak RSS of a process that
// loaded the built library and the backend, no data; "above baseline" is what the data costs.
// pandas: Debian's python3-pandas (/usr/bin/python3).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runColumnStore } from './column-store.js';
import { maxRssRunner, type MaxRssRun } from './max-rss.js';
import { duckdbParquet, sqlString } from './duckdb-parquet.js';
import { writeTableConfig, writeTableCsv } from './synthetic-table.js';

const ROOT = resolve(import.meta.dirname, '..');
const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';

interface PandasFigures {
  baseline_mb: number;
  peak_mb: number;
  deep_mb: number;
  seconds: number;
  pandas: string;
}

function pandas(file: string): PandasFigures | undefined {
  const r = spawnSync(PYTHON, [join(ROOT, 'bench', 'pandas_memory.py'), file], { encoding: 'utf8' });
  if (r.status !== 0) {
    console.log(`pandas: not measured (${(r.stderr || r.error?.message || '').trim().split('\n').pop()})`);
    return undefined;
  }
  return JSON.parse(r.stdout) as PandasFigures;
}

function checked(r: MaxRssRun, what: string): MaxRssRun {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}: ${r.stderr}`);
  return r;
}

/** Rows per row group of the benchmark's Parquet file. */
const PARQUET_ROW_GROUP = 65_536;

/** What a table's runs are compared with: its rows, the process's baseline, the CSV's size, pandas' read_csv peak. */
interface RunScale {
  rows: number;
  baseline: number;
  csvMb: number;
  pandasPeakMb?: number;
}

/** The in-memory and streamed runs of one file, one line each, and the ratio of their times. */
function printRuns(scale: RunScale, memory: MaxRssRun, stream: MaxRssRun): void {
  console.log('mode        seconds   rows/s    peak RSS MB   above baseline MB   ×CSV   ×pandas peak');
  for (const [mode, r] of [['in memory', memory], ['--stream', stream]] as const) {
    const above = r.maxRssMb - scale.baseline;
    console.log(
      [
        mode.padEnd(10),
        r.seconds.toFixed(1).padStart(8),
        String(Math.round(scale.rows / r.seconds)).padStart(8),
        r.maxRssMb.toFixed(0).padStart(14),
        above.toFixed(0).padStart(19),
        (above / scale.csvMb).toFixed(2).padStart(6),
        scale.pandasPeakMb ? (r.maxRssMb / scale.pandasPeakMb).toFixed(2).padStart(14) : '',
      ].join(' '),
    );
  }
  console.log(`streaming time / in-memory time: ${(stream.seconds / memory.seconds).toFixed(2)}`);
}

export async function runTableMemory(sizes: readonly number[]): Promise<void> {
  runColumnStore();
  console.log('');
  const dir = mkdtempSync(join(tmpdir(), 'multiloss-bench-table-'));
  try {
    const built = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
    if (built.status !== 0) throw new Error(`npm run build failed: ${built.stderr || built.stdout}`);
    const cli = maxRssRunner(dir, join(ROOT, 'dist', 'cli', 'main.js'));
    const baseline = checked(await maxRssRunner(dir, join(ROOT, 'dist', 'index.js'), "await entry.initBackend('wasm');")([]), 'baseline').maxRssMb;
    console.log(`multiloss train (the built package, dist/cli/main.js), 1 epoch, batch 256, 10% validation, trunk 32-16, 3 heads; node ${process.version}; baseline (library + backend, no data) ${baseline.toFixed(0)} MB`);
    for (const rows of sizes) {
      const data = join(dir, `table-${rows}.csv`);
      writeTableCsv(data, rows);
      const csvMb = statSync(data).size / 2 ** 20;
      const config = join(dir, 'config.json');
      writeTableConfig(config, data, join(dir, 'model'));
      const memory = checked(await cli(['train', '--config', config, '--quiet']), 'train');
      const stream = checked(await cli(['train', '--config', config, '--quiet', '--stream']), 'train --stream');
      const pd = pandas(data);
      console.log(`\n${rows} rows, CSV ${csvMb.toFixed(0)} MB${pd ? `; pandas ${pd.pandas}: read_csv peak RSS ${pd.peak_mb.toFixed(0)} MB (${(pd.peak_mb - pd.baseline_mb).toFixed(0)} MB above its interpreter + pandas ${pd.baseline_mb.toFixed(0)} MB), memory_usage(deep=True) ${pd.deep_mb.toFixed(0)} MB, read_csv ${pd.seconds.toFixed(1)} s` : ''}`);
      printRuns({ rows, baseline, csvMb, pandasPeakMb: pd?.peak_mb }, memory, stream);
      // The same table as Parquet: ×CSV stays the CSV file's size, so both formats read on one scale.
      const parquet = await duckdbParquet(`SELECT * FROM read_csv(${sqlString(data)})`, join(dir, `table-${rows}.parquet`), `ROW_GROUP_SIZE ${PARQUET_ROW_GROUP}`);
      writeTableConfig(config, parquet, join(dir, 'model'));
      const parquetMemory = checked(await cli(['train', '--config', config, '--quiet']), 'train (Parquet)');
      const parquetStream = checked(await cli(['train', '--config', config, '--quiet', '--stream']), 'train --stream (Parquet)');
      console.log(`\n${rows} rows as Parquet (DuckDB, row groups of ${PARQUET_ROW_GROUP.toLocaleString('en')} rows), ${(statSync(parquet).size / 2 ** 20).toFixed(0)} MB; ×CSV is above-baseline MB / the CSV's ${csvMb.toFixed(0)} MB`);
      printRuns({ rows, baseline, csvMb, pandasPeakMb: pd?.peak_mb }, parquetMemory, parquetStream);
      rmSync(parquet);
      rmSync(data);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
