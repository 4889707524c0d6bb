/**
 * Property-based tests of the CSV / JSON readers (parseCsv, parseJson,
 * rowsToTable, readTable) and of the streaming reader of `multiloss predict`
 * (openTableStream): random and mutated text ends in a table or a
 * MultilossError; well-formed tables round-trip exactly (cells and line
 * numbers); the streaming reader agrees with the whole-file reader at any
 * chunk and batch size.
 */
import { tableRows } from '../../src/data/table-build.js';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as fc from 'fast-check';
import { parseCsv, parseJson, readTable, readTableText, rowsToTable, type Cell, type Table } from '../../src/data/index.js';
import { openTableStream } from '../../src/io/stream-table.js';
import { readTableFile } from '../../src/io/table-file.js';
import { readCsvFile } from '../../src/io/csv-file.js';
import { tempDir } from '../helpers.js';
import { applyEdits, editArb, outcome, outcomeAsync, runs, SEED, summary, type Outcome } from './helpers.js';

const counts: Record<string, number> = {};
const count = (k: string) => (counts[k] = (counts[k] ?? 0) + 1);

/** Characters that matter to CSV, plus a few that stress decoding. */
const CSV_CHARS = [',', ';', '\t', '"', '"', '\r', '\n', '\r\n', ' ', 'a', 'b', 'x', 'Y', '1', '0', '.', '-', 'e', '\uFEFF', 'é', '😀', '\\', "'", '\0', '|', '#'];
const csvChar = fc.constantFrom(...CSV_CHARS);
const JSON_CHARS = ['{', '}', '[', ']', '"', ':', ',', ' ', '\n', '\r', '\r\n', '\t', '0', '1', '9', '-', '+', '.', 'e', 'E', 'a', 't', 'r', 'u', 'f', 'l', 's', 'n', 'N', '\\', '\uFEFF', 'é', '|', 'x'];
const jsonChar = fc.constantFrom(...JSON_CHARS);

/** Table invariants every successful read keeps. */
function checkTable(t: Table, text: string): void {
  assert.equal(new Set(t.columns).size, t.columns.length, 'column names are unique');
  for (const row of tableRows(t)) {
    assert.equal(row.length, t.columns.length, 'every row has one cell per column');
    for (const c of row) assert.ok(c === null || typeof c === 'string' || typeof c === 'boolean' || (typeof c === 'number' && Number.isFinite(c)), `cell ${String(c)}`);
  }
  if (t.lines) {
    assert.equal(t.lines.length, t.length);
    const maxLine = text.split(/\r\n|\n|\r/).length;
    Array.from(t.lines).forEach((l, i) => {
      assert.ok(Number.isInteger(l) && l >= 1 && l <= maxLine, `line ${l} of ${maxLine}`);
      if (i > 0) assert.ok(l > t.lines![i - 1], 'line numbers increase');
    });
  }
}

// ---------------------------------------------------------------- CSV text

interface CsvCase {
  header: string[];
  rows: string[][];
  delimiter: ',' | ';' | '\t';
  newlines: string[];
  quoteAll: boolean[];
  bom: boolean;
  trailingNewline: boolean;
  explicitDelimiter: boolean;
}

const nameArb = fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'x', '1', '_', ' ', '(', ')', 'é'), minLength: 1, maxLength: 6 }).map((s) => s.trim()).filter((s) => s !== '');
const fieldArb = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: csvChar, maxLength: 8 }) },
  { weight: 2, arbitrary: fc.constantFrom('', '1', '-0', '1e309', 'NaN', '1,000', ' 2 ', 'true', 'NA', '"', '""', 'a"b') },
);

const csvCaseArb: fc.Arbitrary<CsvCase> = fc
  .uniqueArray(nameArb, { minLength: 2, maxLength: 6 })
  .chain((header) =>
    fc.record({
      header: fc.constant(header),
      rows: fc.array(fc.array(fieldArb, { minLength: header.length, maxLength: header.length }), { maxLength: 6 }),
      delimiter: fc.constantFrom(',' as const, ';' as const, '\t' as const),
      newlines: fc.array(fc.constantFrom('\n', '\r\n', '\r'), { minLength: 7, maxLength: 7 }),
      quoteAll: fc.array(fc.boolean(), { minLength: 7, maxLength: 7 }),
      bom: fc.boolean(),
      trailingNewline: fc.boolean(),
      explicitDelimiter: fc.boolean(),
    }),
  );

function csvQuote(v: string, d: string, always: boolean): string {
  return always || v.includes(d) || /["\r\n]/.test(v) || v.trim() !== v ? `"${v.replace(/"/g, '""')}"` : v;
}

/** The CSV text of a case and, for each data row, the line it starts on. */
function renderCsv(c: CsvCase): { text: string; lines: number[] } {
  const records = [c.header, ...c.rows];
  let text = c.bom ? '\uFEFF' : '';
  let line = 1;
  const lines: number[] = [];
  records.forEach((rec, r) => {
    if (r > 0) lines.push(line);
    const body = rec.map((v) => csvQuote(v, c.delimiter, c.quoteAll[r % 7])).join(c.delimiter);
    const nl = r < records.length - 1 || c.trailingNewline ? c.newlines[r % 7] : '';
    text += body + nl;
    line += (body.match(/\r\n|\n|\r/g) ?? []).length + (nl ? 1 : 0);
  });
  return { text, lines };
}

// ---------------------------------------------------------------- JSON text

type Prim = string | number | boolean | null;
interface JsonCase {
  objects: [string, Prim | Prim[]][][];
  lines: boolean;
  newlines: string[];
  blank: boolean[];
  bom: boolean;
  indent: number;
}

const keyArb = fc.oneof(fc.constantFrom('a', 'b', 'c', 'x y', '__proto__', 'constructor', 'é', ''), fc.string({ maxLength: 4 }));
const primArb: fc.Arbitrary<Prim> = fc.oneof(
  fc.string({ maxLength: 6 }).filter((s) => !s.includes('|')),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
);
const jsonCaseArb: fc.Arbitrary<JsonCase> = fc.record({
  objects: fc.array(
    fc.uniqueArray(fc.tuple(keyArb, fc.oneof({ weight: 5, arbitrary: primArb }, { weight: 1, arbitrary: fc.array(primArb, { maxLength: 3 }) })), { selector: (e) => e[0], maxLength: 4 }),
    { minLength: 1, maxLength: 6 },
  ),
  lines: fc.boolean(),
  newlines: fc.array(fc.constantFrom('\n', '\r\n', '\r'), { minLength: 7, maxLength: 7 }),
  blank: fc.array(fc.boolean(), { minLength: 7, maxLength: 7 }),
  bom: fc.boolean(),
  indent: fc.constantFrom(0, 2),
});

function objectText(entries: [string, Prim | Prim[]][]): string {
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;
}

/** The JSON text of a case, the expected columns and rows, and (JSON lines) each row's line. */
function renderJson(c: JsonCase): { text: string; columns: string[]; rows: Cell[][]; lines?: number[] } {
  const columns: string[] = [];
  // Object.keys order: integer-like keys ("0", "12") come first in any JS object, whatever the text order.
  for (const o of c.objects) for (const k of Object.keys(JSON.parse(objectText(o)) as object)) if (!columns.includes(k)) columns.push(k);
  const cell = (v: Prim | Prim[] | undefined): Cell => {
    if (v === undefined || v === null) return null;
    if (Array.isArray(v)) return v.filter((x) => x !== null).map((x) => String(JSON.parse(JSON.stringify(x)))).join('|');
    return JSON.parse(JSON.stringify(v)) as Cell;
  };
  const rows = c.objects.map((o) => columns.map((col) => cell(o.find(([k]) => k === col)?.[1])));
  const bom = c.bom ? '\uFEFF' : '';
  if (!c.lines) {
    const body = c.indent ? `[\n${c.objects.map(objectText).join(',\n')}\n]` : `[${c.objects.map(objectText).join(',')}]`;
    return { text: bom + body, columns, rows };
  }
  let text = bom;
  let line = 1;
  const lines: number[] = [];
  c.objects.forEach((o, i) => {
    if (c.blank[i % 7]) {
      text += `  ${c.newlines[(i + 3) % 7]}`;
      line++;
    }
    lines.push(line);
    text += objectText(o) + c.newlines[i % 7];
    line++;
  });
  return { text, columns, rows, lines };
}

const tablesEqual = (a: Table, b: { columns: string[]; rows: Cell[][]; lines?: number[] }) => {
  assert.deepEqual(a.columns, b.columns);
  assert.deepEqual(tableRows(a), b.rows);
  if (b.lines) assert.deepEqual([...(a.lines ?? [])], b.lines);
};

describe('fuzz: CSV / JSON readers', { timeout: 120_000 }, () => {
  const t0 = performance.now();

  it('parseCsv: random text → a table or a MultilossError', () => {
    fc.assert(
      fc.property(fc.string({ unit: csvChar, maxLength: 120 }), fc.constantFrom(undefined, ',' as const, ';' as const, '\t' as const), (text, delimiter) => {
        count('csv random');
        const r = outcome(() => parseCsv(text, 'f.csv', delimiter ? { delimiter } : {}), 'parseCsv');
        if (r.ok) checkTable(r.value, text.replace(/^\uFEFF/, ''));
        else assert.match(r.error.message, /^f\.csv: /);
      }),
      { numRuns: runs(4000), seed: SEED },
    );
  });

  it('parseCsv: well-formed tables round-trip (cells and line numbers), mutated ones end in a table or an error', () => {
    fc.assert(
      fc.property(csvCaseArb, fc.array(editArb(csvChar), { maxLength: 3 }), (c, edits) => {
        count('csv structured');
        const { text, lines } = renderCsv(c);
        const options = c.explicitDelimiter ? { delimiter: c.delimiter } : {};
        if (edits.length === 0) {
          const t = parseCsv(text, 'f.csv', options);
          tablesEqual(t, { columns: c.header, rows: c.rows.map((r) => r.map((v) => (v === '' ? null : v))), lines });
          return;
        }
        const mutated = applyEdits(text, edits);
        const r = outcome(() => parseCsv(mutated, 'f.csv', options), 'parseCsv');
        if (r.ok) checkTable(r.value, mutated.replace(/^\uFEFF/, ''));
      }),
      { numRuns: runs(4000), seed: SEED + 1 },
    );
  });

  it('parseCsv: limits (record length, column count) are errors, not crashes', () => {
    fc.assert(
      fc.property(fc.string({ unit: csvChar, maxLength: 80 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 6 }), (text, maxRecordLength, maxColumns) => {
        count('csv limits');
        const r = outcome(() => parseCsv(text, 'f.csv', { maxRecordLength, maxColumns }), 'parseCsv');
        if (r.ok) {
          assert.ok(r.value.columns.length <= maxColumns);
          checkTable(r.value, text.replace(/^\uFEFF/, ''));
        }
      }),
      { numRuns: runs(1000), seed: SEED + 2 },
    );
  });

  it('parseJson: random text → a table or a MultilossError', () => {
    fc.assert(
      fc.property(fc.string({ unit: jsonChar, maxLength: 120 }), fc.constantFrom(undefined, 'array' as const, 'lines' as const), (text, mode) => {
        count('json random');
        const r = outcome(() => parseJson(text, 'f.json', mode), 'parseJson');
        if (r.ok) checkTable(r.value, text);
        else assert.match(r.error.message, /^f\.json: /);
      }),
      { numRuns: runs(3000), seed: SEED + 3 },
    );
  });

  it('parseJson: well-formed arrays and JSON lines round-trip, mutated ones end in a table or an error', () => {
    fc.assert(
      fc.property(jsonCaseArb, fc.array(editArb(jsonChar), { maxLength: 3 }), (c, edits) => {
        count('json structured');
        const expected = renderJson(c);
        if (edits.length === 0) {
          tablesEqual(parseJson(expected.text, 'f.json'), expected);
          return;
        }
        const mutated = applyEdits(expected.text, edits);
        const r = outcome(() => parseJson(mutated, 'f.json'), 'parseJson');
        if (r.ok) checkTable(r.value, mutated);
      }),
      { numRuns: runs(3000), seed: SEED + 4 },
    );
  });

  it('rowsToTable and readTable: any value, any file name → a table or a MultilossError', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.anything(), fc.array(fc.dictionary(fc.string({ maxLength: 3 }), fc.anything({ maxDepth: 2 })), { maxLength: 4 })),
        fc.string({ unit: jsonChar, maxLength: 40 }),
        fc.constantFrom('a.csv', 'a.tsv', 'a.txt', 'a.json', 'a.jsonl', 'a.ndjson', 'a.xlsx', 'noext', 'a.CSV'),
        fc.constantFrom(undefined, 'csv' as const, 'json' as const, 'jsonl' as const),
        (value, text, name, format) => {
          count('rows/readTable');
          const r = outcome(() => rowsToTable(value as Record<string, unknown>[]), 'rowsToTable');
          if (r.ok) checkTable(r.value, '');
          const t = outcome(() => readTable(text, name, format), 'readTable');
          if (t.ok) checkTable(t.value, text);
        },
      ),
      { numRuns: runs(1000), seed: SEED + 5 },
    );
  });

  it('readTableFile (CSV read in chunks into columns) gives the table or the error of parseCsv on the whole text', () => {
    const dir = tempDir('multiloss-fuzz-csvfile-');
    let n = 0;
    const textArb = fc.oneof(
      fc.string({ unit: csvChar, maxLength: 80 }),
      fc.tuple(csvCaseArb, fc.array(editArb(csvChar), { maxLength: 2 })).map(([c, e]) => applyEdits(renderCsv(c).text, e)),
    );
    fc.assert(
      fc.property(textArb, fc.constantFrom('csv', 'tsv'), fc.integer({ min: 1, max: 48 }), (text, ext, chunkBytes) => {
        count('csv file vs text');
        const path = join(dir, `f${n++ % 50}.${ext}`);
        writeFileSync(path, text);
        const options = ext === 'tsv' ? { delimiter: '\t' as const } : {};
        const fromText = outcome(() => readTableText(readFileSync(path, 'utf8'), path), 'readTableText');
        const fromFile = outcome(() => readCsvFile(path, options, chunkBytes), 'readCsvFile');
        if (!fromText.ok || !fromFile.ok) {
          assert.equal(fromFile.ok ? 'table' : fromFile.error.message, fromText.ok ? 'table' : fromText.error.message);
          return;
        }
        assert.deepEqual(fromFile.value.columns, fromText.value.columns);
        assert.deepEqual(tableRows(fromFile.value), tableRows(fromText.value));
        assert.deepEqual([...(fromFile.value.lines ?? [])], [...(fromText.value.lines ?? [])]);
        if (chunkBytes === 48) assert.deepEqual(readTableFile(path), fromFile.value);
      }),
      { numRuns: runs(2500), seed: SEED + 7 },
    );
  });

  it('openTableStream agrees with the whole-file reader at any chunk and batch size', async () => {
    const dir = tempDir('multiloss-fuzz-stream-');
    let n = 0;
    let sameMessage = 0;
    let errors = 0;
    const textArb = fc.oneof(
      fc.tuple(fc.constant('csv'), fc.string({ unit: csvChar, maxLength: 80 })),
      fc.tuple(fc.constant('csv'), fc.tuple(csvCaseArb, fc.array(editArb(csvChar), { maxLength: 2 })).map(([c, e]) => applyEdits(renderCsv(c).text, e))),
      fc.tuple(fc.constantFrom('jsonl', 'json'), fc.tuple(jsonCaseArb.map((c) => ({ ...c, lines: true })), fc.array(editArb(jsonChar), { maxLength: 2 })).map(([c, e]) => applyEdits(renderJson(c).text, e))),
      fc.tuple(fc.constantFrom('jsonl', 'json', 'tsv'), fc.string({ unit: jsonChar, maxLength: 80 })),
    );
    await fc.assert(
      fc.asyncProperty(textArb, fc.integer({ min: 1, max: 48 }), fc.integer({ min: 1, max: 5 }), async ([ext, text], chunkSize, batchSize) => {
        count('stream vs whole');
        const path = join(dir, `f${n++ % 50}.${ext}`);
        writeFileSync(path, text);
        const whole = outcome(() => readTableFile(path), 'readTableFile');
        const streamed: Outcome<Table[]> = await outcomeAsync(async () => {
          const reader = await openTableStream(path, { chunkSize, batchSize });
          const batches: Table[] = [];
          for (let b = await reader.next(); b; b = await reader.next()) {
            assert.ok(b.length <= batchSize);
            batches.push(b);
          }
          return batches;
        }, 'openTableStream');
        assert.equal(streamed.ok, whole.ok, `whole: ${whole.ok ? 'table' : whole.error.message}; streamed: ${streamed.ok ? 'table' : streamed.error.message}`);
        if (whole.ok && streamed.ok) {
          const w = whole.value;
          const rows = streamed.value.flatMap((b) => tableRows(b).map((r) => Object.fromEntries(b.columns.map((c, j) => [c, r[j]]).filter(([, v]) => v !== null))));
          assert.deepEqual(rows, tableRows(w).map((r) => Object.fromEntries(w.columns.map((c, j) => [c, r[j]]).filter(([, v]) => v !== null))));
          if (w.lines) assert.deepEqual(streamed.value.flatMap((b) => Array.from(b.lines ?? [])), Array.from(w.lines));
          if (ext === 'csv' || ext === 'tsv') for (const b of streamed.value) assert.deepEqual(b.columns, w.columns);
        } else if (!whole.ok && !streamed.ok) {
          errors++;
          if (whole.error.message === streamed.error.message) sameMessage++;
        }
      }),
      { numRuns: runs(2500), seed: SEED + 6 },
    );
    process.stderr.write(`fuzz readers: streaming and whole-file errors: ${sameMessage}/${errors} with the same message\n`);
  });

  it('summary', () => {
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    summary('readers', counts, performance.now() - t0);
    assert.ok(total >= runs(10_000), `${total} cases`);
  });
});
