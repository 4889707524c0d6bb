/**
 * The catalogue of malformed inputs: each named input goes through the CLI
 * (train, predict or evaluate) and must end with the stated outcome — exit
 * code 2 and exactly one stderr line matching a pattern, with nothing written,
 * or success with a stated behaviour. docs/reliability.md lists the same
 * entries (this test checks that every id is there);
 * `CATALOGUE_MARKDOWN=1` prints the table for it.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cli, ROOT, tempDir } from '../helpers.js';

const dir = tempDir('multiloss-catalogue-');
const HEADER = 'x,c,y,k';
const GOOD_ROWS = ['1,a,2.5,A', '2,b,3.5,B', '3,a,1.5,A', '4,b,0.5,B', '5,a,1,A', '6,b,2,B'];
const good = (rows = GOOD_ROWS, header = HEADER, nl = '\n') => [header, ...rows].join(nl) + nl;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  out: string;
}

interface Entry {
  id: string;
  /** What the input is. */
  input: string;
  /** The data file: name (its extension picks the format) and contents. */
  file: [string, string | Buffer];
  command: 'train' | 'predict' | 'evaluate';
  /** Extra arguments (train: replace the default targets with `targets`). */
  targets?: string[];
  extra?: string[];
  /** Exit code 2 and this one-line message, or success (0) and this check. */
  error?: RegExp;
  check?: (r: Run) => void;
  /** The outcome, as docs/reliability.md states it. */
  outcome: string;
}

const predictRows = (r: Run): string[][] => r.stdout.trim().split('\n').map((l) => l.split(','));
const trainedInfo = (r: Run) => JSON.parse(cli(['info', r.out, '--json']).stdout) as { features: { name: string; type: string }[]; heads: { name: string; classes?: string[] }[] };

const MB = 1_000_000;
const ENTRIES: Entry[] = [
  { id: 'C01', input: 'quoted field never closed', file: ['q.csv', `${HEADER}\n1,"a,2.5,A\n2,b,3.5,B\n`], command: 'train', error: /q\.csv: line 2 has a quoted field that is never closed \(unterminated quote\)$/, outcome: 'exit 2: `line 2 has a quoted field that is never closed`' },
  { id: 'C02', input: 'text after a closing quote (`"a"b`)', file: ['q2.csv', good(['1,"a"b,2.5,A', ...GOOD_ROWS.slice(1)])], command: 'train', check: (r) => assert.ok(readFileSync(join(r.out, 'multiloss.json'), 'utf8').includes('\\"a\\"b')), outcome: 'success: with relaxed quoting the field is kept literally, quotes included (`"a"b` is a category of `c`)' },
  { id: 'C03', input: 'stray quote inside an unquoted field (`a"b`)', file: ['q3.csv', good(['1,a"b,2.5,A', ...GOOD_ROWS.slice(1)])], command: 'train', check: (r) => assert.ok(readFileSync(join(r.out, 'multiloss.json'), 'utf8').includes('a\\"b')), outcome: 'success: kept literally, `a"b` is a category of `c`' },
  { id: 'C04', input: 'escaped quotes and delimiters inside quotes', file: ['q4.csv', good(['1,"a ""x"", y",2.5,A', ...GOOD_ROWS.slice(1)])], command: 'train', check: (r) => assert.ok(readFileSync(join(r.out, 'multiloss.json'), 'utf8').includes('a \\"x\\", y')), outcome: 'success: one field `a "x", y`' },
  { id: 'C05', input: 'wrong delimiter: header with `;`, rows with `,`', file: ['d.csv', `x;c;y;k\n${GOOD_ROWS.join('\n')}\n`], command: 'train', error: /d\.csv: line 2 has 1 field, the header has 4 \(delimiter ";"; row starts "1,a,2\.5,A"\)$/, outcome: 'exit 2: `line 2 has 1 field, the header has 4 (delimiter ";"; …)`' },
  { id: 'C06', input: 'semicolon-separated file named .csv', file: ['semi.csv', good(GOOD_ROWS.map((r) => r.replace(/,/g, ';')), 'x;c;y;k')], command: 'train', outcome: 'success: delimiter detected from the header line' },
  { id: 'C07', input: 'tab-separated file named .csv', file: ['tab.csv', good(GOOD_ROWS.map((r) => r.replace(/,/g, '\t')), 'x\tc\ty\tk')], command: 'train', outcome: 'success: delimiter detected' },
  { id: 'C08', input: 'UTF-8 byte-order mark before the header', file: ['bom.csv', `\uFEFF${good()}`], command: 'train', extra: ['--features', 'x,c'], check: (r) => assert.deepEqual(trainedInfo(r).features.map((f) => f.name), ['x', 'c']), outcome: 'success: BOM stripped, the first column is `x`' },
  { id: 'C09', input: 'mixed newlines (CRLF, LF, CR) and a ragged row after them', file: ['nl.csv', `${HEADER}\r\n1,a,2.5,A\n2,b,3.5,B\r3,a,1.5,A\r\n4,b\n`], command: 'train', error: /nl\.csv: line 5 has 2 fields, the header has 4/, outcome: 'exit 2: every newline style ends a record; the ragged row is named `line 5`' },
  { id: 'C10', input: 'mixed newlines, well-formed', file: ['nl2.csv', `${HEADER}\r\n${GOOD_ROWS.slice(0, 2).join('\n')}\r${GOOD_ROWS.slice(2).join('\r\n')}\n`], command: 'train', outcome: 'success: 6 rows' },
  { id: 'C11', input: 'CRLF inside a quoted field, then a ragged row', file: ['crlf.csv', `${HEADER}\r\n1,"a\r\nb",2.5,A\r\n2,b,3\r\n`], command: 'train', error: /crlf\.csv: line 4 has 3 fields, the header has 4/, outcome: 'exit 2: line numbers count the embedded newline once (`line 4`)' },
  { id: 'C12', input: 'blank and whitespace-only lines between rows', file: ['blank.csv', `${HEADER}\n\n${GOOD_ROWS.slice(0, 3).join('\n')}\n   \n\t\n${GOOD_ROWS.slice(3).join('\n')}\n\n`], command: 'train', outcome: 'success: blank lines skipped' },
  { id: 'C13', input: 'one field of 1 MB (1,000,001 characters)', file: ['big.csv', `${HEADER}\n1,${'z'.repeat(MB + 1)},2.5,A\n`], command: 'train', error: /big\.csv: line 2 is longer than the limit of 1000000 bytes \(maxRecordLength\)$/, outcome: 'exit 2: `line 2 is longer than the limit of 1000000 bytes (maxRecordLength)`' },
  { id: 'C14', input: 'one field of 900 kB at prediction time', file: ['big900.csv', `x,c\n1,${'z'.repeat(900_000)}\n`], command: 'predict', check: (r) => assert.equal(predictRows(r).length, 2), outcome: 'success: under the limit; an unseen category (the unknown bucket)' },
  { id: 'C15', input: '100,000 columns', file: ['wide.csv', `${Array.from({ length: 100_000 }, (_, i) => `c${i}`).join(',')}\n${Array.from({ length: 100_000 }, () => '1').join(',')}\n`], command: 'train', targets: ['c0:regression'], error: /wide\.csv: line 1: the header has 100000 columns, more than the limit of 10000 \(maxColumns\)$/, outcome: 'exit 2: `the header has 100000 columns, more than the limit of 10000 (maxColumns)`' },
  { id: 'C16', input: 'duplicate header names', file: ['dup.csv', good(GOOD_ROWS.map((r) => `${r},9`), `${HEADER},x`)], command: 'train', error: /dup\.csv: line 1: duplicate header name "x" \(columns 1 and 5, compared after trimming spaces\)$/, outcome: 'exit 2: `duplicate header name "x" (columns 1 and 5, …)`' },
  { id: 'C17', input: 'header names equal after trimming (`x` and ` x `)', file: ['dup2.csv', good(GOOD_ROWS.map((r) => `${r},9`), `${HEADER}, x `)], command: 'train', error: /duplicate header name "x" \(columns 1 and 5, compared after trimming spaces\)/, outcome: 'exit 2: same message (names are compared after trimming)' },
  { id: 'C18', input: 'header names differing only by case (`x`, `X`)', file: ['case.csv', good(GOOD_ROWS.map((r) => `${r},7`), `${HEADER},X`)], command: 'train', extra: ['--features', 'x,X'], check: (r) => assert.deepEqual(trainedInfo(r).features.map((f) => f.name), ['x', 'X']), outcome: 'success: two distinct columns' },
  { id: 'C19', input: 'empty header name', file: ['noname.csv', good(GOOD_ROWS.map((r) => `${r},7`), `${HEADER},`)], command: 'train', error: /noname\.csv: line 1: header column 5 has an empty name \(delimiter used: ","\)$/, outcome: 'exit 2: `header column 5 has an empty name`' },
  { id: 'C20', input: 'header-only file (training)', file: ['hdr.csv', `${HEADER}\n`], command: 'train', error: /hdr\.csv: no data rows \(only a header\)$/, outcome: 'exit 2: `no data rows (only a header)`' },
  { id: 'C21', input: 'header-only file (prediction)', file: ['hdr2.csv', 'x,c\n'], command: 'predict', check: (r) => assert.equal(r.stdout.trim().split('\n').length, 1), outcome: 'success: the output header and no rows' },
  { id: 'C22', input: 'empty file (0 bytes)', file: ['empty.csv', ''], command: 'train', error: /empty\.csv: the file is empty$/, outcome: 'exit 2: `the file is empty`' },
  { id: 'C23', input: 'whitespace-only file', file: ['ws.csv', ' \n\t\r\n  '], command: 'predict', error: /ws\.csv: the file is empty$/, outcome: 'exit 2: `the file is empty`' },
  { id: 'C24', input: 'ragged row (too few fields)', file: ['ragged.csv', good([...GOOD_ROWS.slice(0, 3), '4,b', ...GOOD_ROWS.slice(4)])], command: 'train', error: /ragged\.csv: line 5 has 2 fields, the header has 4 \(delimiter ","; row starts "4,b"\)$/, outcome: 'exit 2: `line 5 has 2 fields, the header has 4`' },
  { id: 'C25', input: '`1e309` (overflows a double) in a regression target', file: ['inf.csv', good([...GOOD_ROWS.slice(0, 2), '3,a,1e309,A', ...GOOD_ROWS.slice(3)])], command: 'train', error: /inf\.csv: line 4, column "y": "1e309" is not a number \(head "y" is regression\)$/, outcome: 'exit 2: `line 4, column "y": "1e309" is not a number`' },
  { id: 'C26', input: '`1e309` in a feature column (type inferred)', file: ['inf2.csv', good([...GOOD_ROWS.slice(0, 2), '1e309,a,1.5,A', ...GOOD_ROWS.slice(3)])], command: 'train', check: (r) => assert.equal(trainedInfo(r).features.find((f) => f.name === 'x')?.type, 'categorical'), outcome: 'success: not a finite number, so `x` is inferred categorical (declare `type: numeric` to get an error instead)' },
  { id: 'C27', input: '`1e309` in a feature declared numeric', file: ['inf3.csv', good([...GOOD_ROWS.slice(0, 2), '1e309,a,1.5,A', ...GOOD_ROWS.slice(3)])], command: 'train', extra: ['--config-features-numeric'], error: /inf3\.csv: line 4, column "x": value "1e309" is not a number \(the feature is numeric\)$/, outcome: 'exit 2: `line 4, column "x": value "1e309" is not a number (the feature is numeric)`' },
  { id: 'C28', input: '`1e300` in a numeric feature at prediction (far outside training)', file: ['far.csv', 'x,c\n1,a\n1e300,b\n'], command: 'predict', error: /far\.csv: line 3, column "x": value "1e300" is out of range \(standardized with the training mean [\d.e+-]+ and std [\d.e+-]+ it exceeds ±3\.4e38\)$/, outcome: 'exit 2: `value "1e300" is out of range (standardized … it exceeds ±3.4e38)`; no output file' },
  { id: 'C29', input: '`NaN` in a regression target', file: ['nan.csv', good([...GOOD_ROWS.slice(0, 2), '3,a,NaN,A', ...GOOD_ROWS.slice(3)])], command: 'train', outcome: 'success: `NaN` is a missing-value token, the row has no label for `y`' },
  { id: 'C30', input: '`NaN` in a numeric feature', file: ['nan2.csv', good([...GOOD_ROWS.slice(0, 2), 'NaN,a,1.5,A', ...GOOD_ROWS.slice(3)])], command: 'train', check: (r) => assert.equal(trainedInfo(r).features.find((f) => f.name === 'x')?.type, 'numeric'), outcome: 'success: missing, imputed with the mean plus a `x:missing` indicator' },
  { id: 'C31', input: '`-0`, `+2`, `.5`, `5.` and `1e3` as numbers', file: ['num.csv', good(['-0,a,+2,A', '.5,b,5.,B', '1e3,a,1,A', ...GOOD_ROWS.slice(3)])], command: 'train', check: (r) => assert.equal(trainedInfo(r).features.find((f) => f.name === 'x')?.type, 'numeric'), outcome: 'success: all parsed as numbers (`-0` is 0)' },
  { id: 'C32', input: 'thousands separator (`"1,000"`) in a regression target', file: ['thou.csv', good([...GOOD_ROWS.slice(0, 2), '3,a,"1,000",A', ...GOOD_ROWS.slice(3)])], command: 'train', error: /thou\.csv: line 4, column "y": "1,000" is not a number \(head "y" is regression\)$/, outcome: 'exit 2: `"1,000" is not a number` (no locale guessing)' },
  { id: 'C33', input: '`1e39` in a regression target (finite, beyond float32)', file: ['f32.csv', good([...GOOD_ROWS.slice(0, 2), '3,a,1e39,A', ...GOOD_ROWS.slice(3)])], command: 'train', error: /f32\.csv: line 4, column "y": "1e39" is beyond the float32 range \(±3\.4e38\) that training uses \(head "y"\)$/, outcome: 'exit 2: `line 4, column "y": "1e39" is beyond the float32 range (±3.4e38) that training uses`' },
  { id: 'C34', input: 'hexadecimal and `Infinity` in a feature', file: ['hex.csv', good(['0x10,a,2.5,A', 'Infinity,b,3.5,B', ...GOOD_ROWS.slice(2)])], command: 'train', check: (r) => assert.equal(trainedInfo(r).features.find((f) => f.name === 'x')?.type, 'categorical'), outcome: 'success: not numbers, so `x` is inferred categorical' },
  { id: 'C35', input: 'unknown class in a target at evaluation', file: ['unk.csv', good(['1,a,2.5,A', '2,b,3.5,Z'])], command: 'evaluate', error: /unk\.csv: line 3, column "k": class "Z" was not seen in training \(head "k" knows: A, B\)$/, outcome: 'exit 2: `class "Z" was not seen in training (head "k" knows: A, B)`' },
  { id: 'C36', input: 'unknown category in a feature at prediction', file: ['unkcat.csv', 'x,c\n1,purple\n'], command: 'predict', check: (r) => assert.equal(predictRows(r).length, 2), outcome: 'success: the unknown-category bucket' },
  { id: 'C37', input: 'classes differing only by case (`A`, `a`)', file: ['cls.csv', good([...GOOD_ROWS.slice(0, 4), '5,a,1,a', ...GOOD_ROWS.slice(5)])], command: 'train', error: /cls\.csv: column "k" has classes "A" and "a" that differ only by case; clean the data or list "classes" for head "k"$/, outcome: 'exit 2: `classes "A" and "a" that differ only by case`' },
  { id: 'C38', input: 'classes differing only by surrounding spaces (`A`, ` A `)', file: ['cls2.csv', good([...GOOD_ROWS.slice(0, 4), '5,a,1," A "', ...GOOD_ROWS.slice(5)])], command: 'train', check: (r) => assert.deepEqual(trainedInfo(r).heads.find((h) => h.name === 'k')?.classes, ['A', 'B']), outcome: 'success: labels are trimmed, one class `A`' },
  { id: 'C39', input: 'negative count', file: ['cnt.csv', good([...GOOD_ROWS.slice(0, 2), '3,a,-1,A', ...GOOD_ROWS.slice(3)])], command: 'train', targets: ['y:count'], error: /cnt\.csv: line 4, column "y": count -1 is negative \(head "y"\)$/, outcome: 'exit 2: `count -1 is negative`' },
  { id: 'C40', input: 'non-numeric value in a numeric feature at prediction', file: ['abc.csv', 'x,c\n1,a\nabc,b\n'], command: 'predict', error: /abc\.csv: line 3, column "x": value "abc" is not a number \(the feature is numeric\)$/, outcome: 'exit 2: `line 3, column "x": value "abc" is not a number`' },
  { id: 'C41', input: 'invalid UTF-8 bytes in a category', file: ['utf.csv', Buffer.concat([Buffer.from('x,c\n1,'), Buffer.from([0xff, 0xfe, 0x80]), Buffer.from('\n')])], command: 'predict', check: (r) => assert.ok(r.stdout.includes('\uFFFD') || predictRows(r).length === 2), outcome: 'success: decoded with U+FFFD replacement characters, an unseen category' },
  { id: 'C42', input: 'binary garbage (NUL bytes, random)', file: ['bin.csv', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256))], command: 'predict', error: /bin\.csv: line \d+ has \d+ fields?, the header has \d+/, outcome: 'exit 2: `line 3 has 1 field, the header has 2 (…)`' },
  { id: 'C43', input: 'JSON array cut short', file: ['cut.json', '[{"x": 1, "c": "a"}, {"x": 2'], command: 'predict', error: /cut\.json: invalid JSON at line 1, column \d+: /, outcome: 'exit 2: `invalid JSON at line 1, column N: …`' },
  { id: 'C44', input: 'JSON lines with one broken line', file: ['bad.jsonl', '{"x": 1, "c": "a"}\n{"x": 2, "c": "b"}\n{"x": 3, "c": \n'], command: 'predict', error: /bad\.jsonl: line 3 is not valid JSON: /, outcome: 'exit 2: `line 3 is not valid JSON: …`' },
  { id: 'C45', input: 'JSON value that is a nested object', file: ['nest.json', '[{"x": 1, "c": {"a": 1}}]'], command: 'predict', error: /nest\.json: row 1, key "c": nested object values are not supported$/, outcome: 'exit 2: `row 1, key "c": nested object values are not supported`' },
  { id: 'C46', input: 'JSON number `1e999` (infinite once parsed)', file: ['big.jsonl', '{"x": 1e999, "c": "a"}\n'], command: 'predict', error: /big\.jsonl: line 1, key "x": the number Infinity is not finite$/, outcome: 'exit 2: `line 1, key "x": the number Infinity is not finite`' },
  { id: 'C47', input: 'JSON that is not an array of objects (`"hello"`)', file: ['str.json', '"hello"'], command: 'predict', error: /str\.json: line 1: expected a JSON array of objects/, outcome: 'exit 2: `expected a JSON array of objects ("[") or JSON lines …`' },
  { id: 'C48', input: 'JSON lines: a feature key only in later rows', file: ['late.jsonl', `${Array.from({ length: 5000 }, () => '{"c": "a"}').join('\n')}\n{"x": 2, "c": "b"}\n`], command: 'predict', check: (r) => assert.equal(predictRows(r).length, 5002), outcome: 'success: missing in the rows without it (as when the file is read whole), across batches' },
  { id: 'C49', input: 'JSON lines: a feature key in no row', file: ['nox.jsonl', '{"c": "a"}\n{"c": "b"}\n'], command: 'predict', error: /nox\.jsonl: feature column "x" missing; available columns: "c"$/, outcome: 'exit 2: `feature column "x" missing; available columns: "c"`' },
  { id: 'C50', input: 'data path is a directory', file: ['adir.csv', ''], command: 'predict', extra: ['--data-is-dir'], error: /data file \S+adir\.csv: is a directory, expected a file$/, outcome: 'exit 2: `is a directory, expected a file`' },
  { id: 'C52', input: 'data path is a device (a link to `/dev/zero`, which never ends)', file: ['zero.csv', ''], command: 'train', extra: ['--data-is-dev-zero'], error: /data file \S+zero\.csv: is a device, expected a file$/, outcome: 'exit 2: `is a device, expected a file` (before, `train` read it without end)' },
  { id: 'C53', input: '`-1e39` in a regression target (finite, beyond float32)', file: ['negf32.csv', good([...GOOD_ROWS.slice(0, 4), '5,a,-1e39,A', GOOD_ROWS[5]])], command: 'train', error: /negf32\.csv: line 6, column "y": "-1e39" is beyond the float32 range \(±3\.4e38\) that training uses \(head "y"\)$/, outcome: 'exit 2: `line 6, column "y": "-1e39" is beyond the float32 range (±3.4e38) that training uses`' },
  {
    id: 'C54',
    input: '`1e39` in a numeric feature (beyond float32 before standardizing)',
    file: ['bigx.csv', good(['1e39,a,2.5,A', ...GOOD_ROWS.slice(1)])],
    command: 'train',
    check: (r) => {
      const pre = (JSON.parse(readFileSync(join(r.out, 'multiloss.json'), 'utf8')) as { preprocessing: { features: { name: string; mean?: number; std?: number }[] } }).preprocessing;
      const x = pre.features.find((f) => f.name === 'x');
      assert.ok(x && Number.isFinite(x.mean) && Number.isFinite(x.std) && (x.std as number) > 1e38, JSON.stringify(x));
    },
    outcome: 'success: features are standardized in float64 (mean 1.7e38, std 3.7e38), so the network sees finite float32 values; a value that would still exceed ±3.4e38 once standardized is refused (C28)',
  },
  { id: 'C55', input: 'data path is a pipe (FIFO; with no writer a read would block for ever)', file: ['fifo.csv', ''], command: 'train', extra: ['--data-is-fifo'], error: /data file \S+fifo\.csv: is a pipe \(FIFO\), expected a regular file; write the data to a file first$/, outcome: 'exit 2: `is a pipe (FIFO), expected a regular file` (before, `train` waited for a writer)' },
  { id: 'C51', input: 'unknown file extension (`.xlsx`)', file: ['sheet.xlsx', good()], command: 'predict', error: /sheet\.xlsx: cannot tell the data format from the file name \(extension "\.xlsx"\)/, outcome: 'exit 2: `cannot tell the data format from the file name (extension ".xlsx")`' },
];

/** Runs the CLI without blocking, so two entries can run at once. */
function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function runEntry(e: Entry, model: string): Promise<Run> {
  const sub = join(dir, e.id);
  mkdirSync(sub);
  const data = join(sub, e.file[0]);
  if (e.extra?.includes('--data-is-dir')) mkdirSync(data);
  else if (e.extra?.includes('--data-is-dev-zero')) symlinkSync('/dev/zero', data);
  else if (e.extra?.includes('--data-is-fifo')) execFileSync('mkfifo', [data]);
  else writeFileSync(data, e.file[1]);
  const out = join(sub, e.command === 'train' ? 'model' : 'predictions.csv');
  const extra = (e.extra ?? []).filter((a) => !a.startsWith('--config-') && a !== '--data-is-dir' && a !== '--data-is-dev-zero' && a !== '--data-is-fifo');
  let args: string[];
  if (e.command === 'train') {
    const targets = e.targets ?? ['y:regression', 'k:classification'];
    if (e.extra?.includes('--config-features-numeric')) {
      const config = join(sub, 'config.yaml');
      writeFileSync(config, `data: ${data}\nfeatures: [{ name: x, type: numeric }, c]\ntargets: [${targets.map((t) => `{ name: ${t.split(':')[0]}, kind: ${t.split(':')[1]} }`).join(', ')}]\nvalidation: { split: 0 }\ntraining: { epochs: 1, batchSize: 4 }\n`);
      args = ['train', '--config', config, '--out', out, '--quiet'];
    } else {
      args = ['train', '--data', data, ...targets.flatMap((t) => ['--target', t]), '--epochs', '1', '--batch-size', '4', '--validation-split', '0', '--out', out, '--quiet', ...extra];
    }
  } else if (e.command === 'predict') {
    args = ['predict', model, data, '--out', out, ...extra];
  } else {
    args = ['evaluate', model, data, ...extra];
  }
  const r = await run(args);
  // Successful predictions are read back from the output file.
  const stdout = e.command === 'predict' && r.code === 0 ? readFileSync(out, 'utf8') : r.stdout;
  return { ...r, stdout, out };
}

function expectOutcome(e: Entry, r: Run): void {
  const lines = r.stderr.trim().split('\n');
  if (e.error) {
    assert.equal(r.code, 2, `${e.id}: exit ${r.code}; stderr: ${r.stderr}`);
    assert.equal(lines.length, 1, `${e.id}: one line expected, got:\n${r.stderr}`);
    assert.match(lines[0], /^multiloss: /);
    assert.match(lines[0], e.error);
    assert.doesNotMatch(lines[0], /internal error|\n/);
    assert.equal(existsSync(r.out), false, `${e.id}: ${r.out} must not exist`);
    const leftovers = readdirSync(join(r.out, '..')).filter((f) => f.includes('.tmp-') || f.endsWith('.ready'));
    assert.deepEqual(leftovers, [], `${e.id}: temporary files left`);
  } else {
    assert.equal(r.code, 0, `${e.id}: exit ${r.code}; stderr: ${r.stderr}`);
    assert.ok(existsSync(r.out), `${e.id}: ${r.out} written`);
    e.check?.(r);
  }
}

describe('catalogue of malformed inputs through the CLI', { timeout: 600_000 }, () => {
  const model = join(dir, 'model');
  const results = new Map<string, Promise<Run>>();

  before(async () => {
    writeFileSync(join(dir, 'good.csv'), good());
    const r = cli(['train', '--data', join(dir, 'good.csv'), '--target', 'y:regression', '--target', 'k:classification', '--features', 'x,c', '--epochs', '2', '--batch-size', '4', '--validation-split', '0', '--out', model, '--quiet']);
    assert.equal(r.status, 0, r.stderr);
    // Two entries at a time: each is a separate CLI process.
    let next = 0;
    const pending = new Map<string, (r: Run) => void>();
    for (const e of ENTRIES) results.set(e.id, new Promise((resolve) => pending.set(e.id, resolve)));
    const worker = async () => {
      while (next < ENTRIES.length) {
        const e = ENTRIES[next++];
        (pending.get(e.id) as (r: Run) => void)(await runEntry(e, model));
      }
    };
    void Promise.all([worker(), worker()]);
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('has at least 30 entries, each with a unique id', () => {
    assert.ok(ENTRIES.length >= 30);
    assert.equal(new Set(ENTRIES.map((e) => e.id)).size, ENTRIES.length);
  });

  for (const e of ENTRIES) {
    it(`${e.id} ${e.input} → ${e.error ? 'exit 2' : 'success'}`, async () => {
      expectOutcome(e, await (results.get(e.id) as Promise<Run>));
    });
  }

  it('docs/reliability.md lists every entry', () => {
    if (process.env.CATALOGUE_MARKDOWN) {
      process.stdout.write(`| id | input | command | outcome |\n|---|---|---|---|\n${ENTRIES.map((e) => `| ${e.id} | ${e.input.replace(/\|/g, '\\|')} | ${e.command} | ${e.outcome.replace(/\|/g, '\\|')} |`).join('\n')}\n`);
    }
    const doc = readFileSync(join(ROOT, 'docs', 'reliability.md'), 'utf8');
    for (const e of ENTRIES) assert.ok(doc.includes(`| ${e.id} |`), `${e.id} missing from docs/reliability.md`);
  });
});
