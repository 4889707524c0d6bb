// Penguin-like rows for the large-file benchmarks and tests (bench/stream.ts,
// test/reliability/predict-memory and train-stream): deterministic in the row
// index, so any number of rows can be written without holding them.
import { closeSync, openSync, writeSync } from 'node:fs';

const ISLANDS = ['Biscoe', 'Dream', 'Torgersen'];
const FEATURES = 'Island,Beak Length (mm),Beak Depth (mm),Flipper Length (mm)';
const TARGETS = 'Species,Sex,Body Mass (g)';

/**
 * Row `i`: the four features, and with `labels` the three targets — species
 * from beak length and depth, sex from depth (missing in every 9th row), mass
 * from flipper and beak, with noise.
 */
export function penguinRow(i: number, labels: boolean): string {
  const a = 35 + ((i * 7919) % 200) / 10;
  const b = 14 + ((i * 104729) % 60) / 10;
  const f = 170 + ((i * 31) % 60);
  const features = `${ISLANDS[i % 3]},${a.toFixed(1)},${b.toFixed(1)},${f}`;
  if (!labels) return features;
  const noise = ((i * 2654435761) % 1000) / 1000 - 0.5;
  const species = a + noise * 4 > 45 ? 'Gentoo' : b > 17 ? 'Chinstrap' : 'Adelie';
  const sex = i % 9 === 0 ? '' : b + noise > 16.9 ? 'MALE' : 'FEMALE';
  return `${features},${species},${sex},${(f * 20 + a * 10 + noise * 300).toFixed(0)}`;
}

/** The header line (with a newline) of such a file. */
export function penguinHeader(labels: boolean): string {
  return `${labels ? `${FEATURES},${TARGETS}` : FEATURES}\n`;
}

/** Writes `rows` rows in blocks of 50,000; `bad` replaces one row's line. */
export function writePenguinCsv(path: string, rows: number, labels: boolean, bad?: { at: number; line: string }): void {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, penguinHeader(labels));
    for (let start = 0; start < rows; start += 50_000) {
      const lines: string[] = [];
      for (let i = start; i < Math.min(rows, start + 50_000); i++) lines.push(bad && i === bad.at ? bad.line : penguinRow(i, labels));
      writeSync(fd, `${lines.join('\n')}\n`);
    }
  } finally {
    closeSync(fd);
  }
}
