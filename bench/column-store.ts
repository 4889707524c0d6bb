// The in-memory column store, measured (issue 22): the columns this library builds
// (src/data/column.ts) against Apache Arrow's JS builders and vectors, on 1M cells of the
// benchmark table — a number column and a 3-class label column, both read from CSV text and
// with missing cells: build time, bytes held, and the time of one pass reading every value
// back (what preprocessing and target encoding do).
import { Dictionary, Float64, Int32, makeBuilder, Utf8, type Vector } from 'apache-arrow';
import { ColumnBuilder, mapCells, numberAt, type Column } from '../src/data/column.js';

const N = 1_000_000;

function texts(): { numbers: (string | null)[]; labels: (string | null)[] } {
  const numbers: (string | null)[] = [];
  const labels: (string | null)[] = [];
  for (let i = 0; i < N; i++) {
    numbers.push(i % 7 === 3 ? null : ((i * 7919) % 100_000 / 1000).toString());
    labels.push(i % 11 === 5 ? null : 'abc'[(i * 31) % 3]);
  }
  return { numbers, labels };
}

function bytesOf(column: Column): number {
  const c = column as unknown as Record<string, unknown>;
  return ['values', 'missing', 'codes'].reduce((n, k) => n + ((c[k] as ArrayBufferView | undefined)?.byteLength ?? 0), 0);
}

function time<T>(f: () => T): { value: T; ms: number } {
  const t0 = performance.now();
  const value = f();
  return { value, ms: performance.now() - t0 };
}

export function runColumnStore(): void {
  const { numbers, labels } = texts();
  const ours = time(() => {
    const nb = new ColumnBuilder();
    const lb = new ColumnBuilder();
    for (let i = 0; i < N; i++) {
      nb.push(numbers[i]);
      lb.push(labels[i]);
    }
    return [nb.finish(), lb.finish()] as const;
  });
  const arrow = time(() => {
    const nb = makeBuilder({ type: new Float64(), nullValues: [null] });
    const lb = makeBuilder({ type: new Dictionary(new Utf8(), new Int32()), nullValues: [null] });
    for (let i = 0; i < N; i++) {
      const s = numbers[i];
      nb.append(s === null ? null : Number(s));
      lb.append(labels[i]);
    }
    return [nb.finish().toVector(), lb.finish().toVector()] as [Vector, Vector];
  });
  const [on, ol] = ours.value;
  const readOurs = time(() => {
    let sum = 0;
    let a = 0;
    const isA = mapCells(ol, (c) => c === 'a');
    for (let i = 0; i < N; i++) {
      sum += numberAt(on, i) ?? 0;
      if (isA(i)) a++;
    }
    return sum + a;
  });
  const [an, al] = arrow.value;
  const readArrow = time(() => {
    let sum = 0;
    let a = 0;
    for (let i = 0; i < N; i++) {
      sum += (an.get(i) as number | null) ?? 0;
      if (al.get(i) === 'a') a++;
    }
    return sum + a;
  });
  if (readOurs.value !== readArrow.value) throw new Error(`the stores disagree: ${readOurs.value} vs ${readArrow.value}`);
  const mb = (b: number) => (b / 2 ** 20).toFixed(1);
  console.log(`column store, ${N} rows × (a number column from text + a 3-class label column), 1 cell in 7 / 11 missing:`);
  console.log('store            build ms   read ms   MB held');
  console.log(`multiloss        ${ours.ms.toFixed(0).padStart(8)}  ${readOurs.ms.toFixed(0).padStart(8)}  ${mb(bytesOf(on) + bytesOf(ol)).padStart(8)}`);
  console.log(`apache-arrow     ${arrow.ms.toFixed(0).padStart(8)}  ${readArrow.ms.toFixed(0).padStart(8)}  ${mb(an.byteLength + al.byteLength).padStart(8)}`);
  console.log(`ratio arrow / multiloss: build ${(arrow.ms / ours.ms).toFixed(2)}, read ${(readArrow.ms / readOurs.ms).toFixed(2)}`);
}
