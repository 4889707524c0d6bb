// The table of issue 22 for the memory benchmark (bench/table-memory.ts) and its test
// (test/reliability/table-memory.test.ts): 4 numeric features, a 3-class target, a numeric
// target and a binary target missing in 1 row of 7 — about 41 bytes a row. Deterministic in
// the row index, so any number of rows is written without holding them.
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';

const CLASSES = ['a', 'b', 'c'];

/** A value in [0, 1) from the row index and a salt (a multiplicative hash). */
function unit(i: number, salt: number): number {
  return (Math.imul(i + 1, 2654435761 + salt * 40503) >>> 0) / 4294967296;
}

/** Row i: x1..x4 (4 decimals), class (from x1 + x2), y (from x3, x4), flag (from x1 − x4; empty every 7th row). */
export function tableRow(i: number): string {
  const x = [unit(i, 1) * 10 - 5, unit(i, 2) * 4 - 2, unit(i, 3) * 100, unit(i, 4) - 0.5];
  const s = x[0] + x[1] + (unit(i, 5) - 0.5) * 2;
  const cls = CLASSES[s < -1.5 ? 0 : s < 1.5 ? 1 : 2];
  const y = x[2] * 0.3 - x[3] * 8 + unit(i, 6) * 5;
  const flag = i % 7 === 3 ? '' : x[0] - x[3] > 0 ? '1' : '0';
  return `${x[0].toFixed(4)},${x[1].toFixed(4)},${x[2].toFixed(3)},${x[3].toFixed(4)},${cls},${y.toFixed(3)},${flag}`;
}

export const TABLE_HEADER = 'x1,x2,x3,x4,class,y,flag\n';

/** Writes `rows` rows to `path` in blocks of 50,000. */
export function writeTableCsv(path: string, rows: number): void {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, TABLE_HEADER);
    for (let start = 0; start < rows; start += 50_000) {
      const lines: string[] = [];
      for (let i = start; i < Math.min(rows, start + 50_000); i++) lines.push(tableRow(i));
      writeSync(fd, `${lines.join('\n')}\n`);
    }
  } finally {
    closeSync(fd);
  }
}

/** A configuration training the three heads on the table at `data` (JSON, written to `path`). */
export function writeTableConfig(path: string, data: string, out: string): void {
  const targets = [
    { name: 'class', kind: 'classification' },
    { name: 'y', kind: 'regression' },
    { name: 'flag', kind: 'binary' },
  ];
  writeFileSync(path, JSON.stringify({ data, out, targets, model: { trunk: [32, 16] }, validation: { split: 0.1 }, training: { epochs: 1, batchSize: 256, seed: 1 } }));
}
