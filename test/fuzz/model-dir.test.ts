/**
 * Property-based tests of the model-directory loader on a saved tiny model
 * (one head of every kind) whose files are mutated: truncated, extended,
 * bytes flipped, replaced by directories, FIFOs or symlinks, JSON values and
 * types changed, weight paths pointed elsewhere. Every case ends in a loaded
 * model whose predictions are finite, or in a MultilossError — never another
 * exception, a hang, or a NaN in a prediction.
 *
 * Heavy cases go through the files on disk (loadModel); the many cheap ones
 * mutate the parsed JSON in memory and go through MultilossModel.fromArtifacts,
 * the step loadModel ends with.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as fc from 'fast-check';
import { loadModel, modelFromFiles, saveModel } from '../../src/io/model-dir.js';
import { nonFiniteHead } from '../../src/cli/commands/predict.js';
import type { MultilossModel } from '../../src/model/multiloss-model.js';
import { tempDir, useDefaultBackend } from '../helpers.js';
import { allFinite, outcome, outcomeAsync, runs, SEED, summary } from './helpers.js';
import { tinyModel, tinyTable } from './tiny-model.js';

const counts: Record<string, number> = {};
const count = (k: string) => (counts[k] = (counts[k] ?? 0) + 1);

const FILES = ['model.json', 'weights.bin', 'multiloss.json'] as const;
const input = tinyTable(5);

const valueArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom<unknown>(null, true, false, 0, -1, 1, 2, 1.5, 1e308, -1e308, 5e-324, 1e-300, 3.5e38, 2 ** 31, 2 ** 53, -0, '', 'a', 'float32', 'int32', 'bool', 'complex64', 'string', 'uint8', 'linear', 'softmax', 'relu', 'Dense', 'InputLayer', 'classification', 'binary', 'regression', 'count', 'multilabel', 'numeric', 'categorical', 'weights.bin', [], {}, [1], [0], [-1], [1e9, 1e9], ['a', 'a'], ['a'], { kind: 'shared' }) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.string({ maxLength: 4 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

interface JsonMutation {
  picks: number[];
  op: 'set' | 'delete' | 'add' | 'swap';
  value: unknown;
}
const jsonMutationArb: fc.Arbitrary<JsonMutation> = fc.record({
  picks: fc.array(fc.double({ min: 0, max: 0.999, noNaN: true }), { minLength: 1, maxLength: 8 }),
  op: fc.constantFrom('set', 'set', 'set', 'delete', 'add', 'swap'),
  value: valueArb,
}) as fc.Arbitrary<JsonMutation>;

/** Walks down by the picks, then sets, deletes, adds or swaps (with a sibling) the value there. */
function mutateJson(json: unknown, m: JsonMutation): unknown {
  const root = structuredClone(json);
  if (root === null || typeof root !== 'object') return m.value;
  let node = root as Record<string | number, unknown> | unknown[];
  for (let d = 0; d < m.picks.length; d++) {
    const keys: (string | number)[] = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
    if (keys.length === 0) {
      if (Array.isArray(node)) node.push(m.value);
      else node.extra = m.value;
      return root;
    }
    const k = keys[Math.floor(m.picks[d] * keys.length)];
    const child = (node as Record<string | number, unknown>)[k];
    if (d === m.picks.length - 1 || child === null || typeof child !== 'object') {
      const obj = node as Record<string | number, unknown>;
      if (m.op === 'delete') {
        if (Array.isArray(node)) node.splice(k as number, 1);
        else delete obj[k];
      } else if (m.op === 'add') {
        if (Array.isArray(node)) node.push(m.value);
        else obj[`x${String(k)}`] = m.value;
      } else if (m.op === 'swap' && keys.length > 1) {
        const other = keys[(keys.indexOf(k) + 1) % keys.length];
        [obj[k], obj[other]] = [obj[other], obj[k]];
      } else {
        obj[k] = m.value;
      }
      return root;
    }
    node = child as Record<string | number, unknown> | unknown[];
  }
  return root;
}

/**
 * Failures the loader only caught with its catch-all (an exception that was not
 * a MultilossError, from the code that interprets the files): listed at the end,
 * they are the places whose own checks could be sharper.
 */
const catchAll = new Map<string, number>();
function noteCatchAll(message: string): void {
  const m = /were not written by multiloss \((.*)\)$/.exec(message);
  if (m) catchAll.set(m[1].replace(/"[^"]*"/g, '"…"').replace(/\d+/g, 'N'), (catchAll.get(m[1].replace(/"[^"]*"/g, '"…"').replace(/\d+/g, 'N')) ?? 0) + 1);
}

/** Rows whose library prediction held a non-finite number (there must be none). */
const nonFiniteRows: string[] = [];

/**
 * A loaded model predicts, or refuses with a MultilossError. A prediction
 * holding a non-finite number must be caught by the guard `multiloss predict`
 * applies before writing a row (so none is ever written); such rows are also
 * collected: the library's own predict() must refuse them too.
 */
function checkPredictions(model: MultilossModel, what: string): void {
  const p = outcome(() => model.predict(input), `${what}: predict`);
  if (!p.ok) return;
  assert.equal(p.value.length, input.length);
  for (const row of p.value) {
    if (allFinite(row)) continue;
    assert.notEqual(nonFiniteHead(row, model.heads), undefined, `${what}: the CLI guard misses a non-finite prediction: ${JSON.stringify(row)}`);
    if (nonFiniteRows.length < 5) nonFiniteRows.push(`${what}: ${JSON.stringify(row, (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v))}`);
    else nonFiniteRows.length++;
  }
}

describe('fuzz: model directory loader', { timeout: 180_000 }, () => {
  const t0 = performance.now();
  const dir = tempDir('multiloss-fuzz-model-');
  const base = join(dir, 'base');
  const original: Record<string, Buffer> = {};
  let modelJson: unknown;
  let meta: unknown;
  let weights: ArrayBuffer;
  const loaded = { ok: 0, error: 0 };

  before(async () => {
    await useDefaultBackend();
    const model = await tinyModel();
    await saveModel(model, base);
    model.dispose();
    for (const f of FILES) original[f] = readFileSync(join(base, f));
    modelJson = JSON.parse(original['model.json'].toString('utf8'));
    meta = JSON.parse(original['multiloss.json'].toString('utf8'));
    const w = original['weights.bin'];
    weights = w.buffer.slice(w.byteOffset, w.byteOffset + w.byteLength) as ArrayBuffer;
    writeFileSync(join(dir, 'outside.bin'), w);
  });

  it('the unmutated model loads and predicts', async () => {
    const m = await loadModel(base);
    checkPredictions(m, 'base');
    m.dispose();
  });

  type FileOp =
    | { kind: 'truncate'; file: number; at: number }
    | { kind: 'append'; file: number; bytes: number[] }
    | { kind: 'flip'; file: number; at: number[]; xor: number[] }
    | { kind: 'json'; file: 0 | 2; ms: JsonMutation[] }
    | { kind: 'replace'; file: number; with: 'dir' | 'fifo' | 'dev-zero' | 'outside' | 'missing' | 'empty' | 'bom' | 'huge-number' }
    | { kind: 'path'; path: unknown };

  const fileOpArb: fc.Arbitrary<FileOp> = fc.oneof(
    fc.record({ kind: fc.constant('truncate' as const), file: fc.nat(2), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
    fc.record({ kind: fc.constant('append' as const), file: fc.nat(2), bytes: fc.array(fc.nat(255), { minLength: 1, maxLength: 8 }) }),
    fc.record({ kind: fc.constant('flip' as const), file: fc.nat(2), at: fc.array(fc.double({ min: 0, max: 0.9999, noNaN: true }), { minLength: 1, maxLength: 4 }), xor: fc.array(fc.integer({ min: 1, max: 255 }), { minLength: 4, maxLength: 4 }) }),
    fc.record({ kind: fc.constant('json' as const), file: fc.constantFrom(0 as const, 2 as const), ms: fc.array(jsonMutationArb, { minLength: 1, maxLength: 3 }) }),
    fc.record({ kind: fc.constant('replace' as const), file: fc.nat(2), with: fc.constantFrom('dir' as const, 'fifo' as const, 'dev-zero' as const, 'outside' as const, 'missing' as const, 'empty' as const, 'bom' as const, 'huge-number' as const) }),
    fc.record({
      kind: fc.constant('path' as const),
      path: fc.constantFrom<unknown>('../outside.bin', '/etc/passwd', join(dir, 'outside.bin'), 'file:///etc/passwd', 'http://example.com/w.bin', 'data:application/octet-stream;base64,AAAA', 'C:\\w.bin', '..\\outside.bin', 'a/../../outside.bin', './weights.bin', 'weights.bin\0', 'weights.bin/', '', null, 42, {}, ['weights.bin'], 'sub/weights.bin', 'link.bin', '%2e%2e/outside.bin', '~/w.bin'),
    }),
  );

  it('files mutated on disk: loadModel → a model that predicts finite numbers, or a MultilossError', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fileOpArb, { minLength: 1, maxLength: 2 }), async (ops) => {
        count('on disk');
        const d = join(dir, `case${n++ % 8}`);
        rmSync(d, { recursive: true, force: true });
        mkdirSync(d);
        for (const f of FILES) writeFileSync(join(d, f), original[f]);
        symlinkSync(join(dir, 'outside.bin'), join(d, 'link.bin'));
        for (const op of ops) {
          if (op.kind === 'path') {
            const mj = JSON.parse(original['model.json'].toString('utf8')) as { weightsManifest: { paths: unknown[] }[] };
            mj.weightsManifest[0].paths = [op.path];
            writeFileSync(join(d, 'model.json'), JSON.stringify(mj));
            continue;
          }
          const file = join(d, FILES[op.file]);
          // A file an earlier op replaced (FIFO, device link, directory) is left as it is: reading a FIFO would block.
          if (!existsSync(file) || !lstatSync(file).isFile()) continue;
          const bytes = readFileSync(file);
          switch (op.kind) {
            case 'truncate':
              writeFileSync(file, bytes.subarray(0, Math.floor(op.at * bytes.length)));
              break;
            case 'append':
              writeFileSync(file, Buffer.concat([bytes, Buffer.from(op.bytes)]));
              break;
            case 'flip': {
              const b = Buffer.from(bytes);
              op.at.forEach((a, i) => {
                const k = Math.floor(a * b.length);
                if (k < b.length) b[k] ^= op.xor[i];
              });
              writeFileSync(file, b);
              break;
            }
            case 'json': {
              let json: unknown;
              try {
                json = JSON.parse(bytes.toString('utf8'));
              } catch {
                continue;
              }
              writeFileSync(file, JSON.stringify(op.ms.reduce((j, m) => mutateJson(j, m), json)));
              break;
            }
            case 'replace':
              rmSync(file, { force: true });
              if (op.with === 'dir') mkdirSync(file);
              else if (op.with === 'fifo') execFileSync('mkfifo', [file]);
              else if (op.with === 'dev-zero') symlinkSync('/dev/zero', file);
              else if (op.with === 'outside') symlinkSync(join(dir, 'outside.bin'), file);
              else if (op.with === 'empty') writeFileSync(file, '');
              else if (op.with === 'bom') writeFileSync(file, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]));
              else if (op.with === 'huge-number') writeFileSync(file, bytes.toString('utf8').replace(/\d+\.\d+/, '1e999'));
              break;
          }
        }
        const r = await outcomeAsync(() => loadModel(d), 'loadModel');
        if (!r.ok) noteCatchAll(r.error.message);
        if (r.ok) {
          loaded.ok++;
          checkPredictions(r.value, 'loadModel');
          r.value.dispose();
        } else {
          loaded.error++;
        }
      }),
      { numRuns: runs(1000), seed: SEED + 30 },
    );
  });

  it('JSON mutated in memory: fromArtifacts → a model that predicts finite numbers, or a MultilossError', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(jsonMutationArb, { maxLength: 3 }),
        fc.array(jsonMutationArb, { maxLength: 3 }),
        fc.option(fc.tuple(fc.double({ min: 0, max: 0.9999, noNaN: true }), fc.constantFrom(NaN, Infinity, -Infinity, 1e30, -1e30, 3.4e38, 0)), { nil: undefined }),
        async (metaEdits, modelEdits, weightEdit) => {
          count('in memory');
          const m = metaEdits.reduce((j, e) => mutateJson(j, e), meta);
          const mj = modelEdits.reduce((j, e) => mutateJson(j, e), modelJson);
          let w = weights;
          if (weightEdit) {
            w = weights.slice(0);
            const f = new Float32Array(w);
            f[Math.floor(weightEdit[0] * f.length)] = weightEdit[1];
          }
          const r = await outcomeAsync(() => modelFromFiles(mj, w, m, 'fuzz'), 'modelFromFiles');
          if (!r.ok) noteCatchAll(r.error.message);
          if (r.ok) {
            loaded.ok++;
            checkPredictions(r.value, 'fromArtifacts');
            r.value.dispose();
          } else {
            loaded.error++;
          }
        },
      ),
      { numRuns: runs(9000), seed: SEED + 31 },
    );
  });

  it('library predict() itself never returns a non-finite number', () => {
    assert.deepEqual(nonFiniteRows, []);
  });

  it('summary', () => {
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    summary('model loader', counts, performance.now() - t0);
    process.stderr.write(`fuzz model loader: ${loaded.ok} loaded (predictions checked), ${loaded.error} refused with a MultilossError\n`);
    for (const [k, v] of [...catchAll].sort((a, b) => b[1] - a[1])) process.stderr.write(`fuzz model loader: caught by the catch-all ${v}×: ${k}\n`);
    if (nonFiniteRows.length) process.stderr.write(`fuzz model loader: ${nonFiniteRows.length} predictions with a non-finite number (refused by multiloss predict), e.g.\n  ${nonFiniteRows.filter(Boolean).join('\n  ')}\n`);
    assert.ok(total >= runs(10_000), `${total} cases`);
  });
});
