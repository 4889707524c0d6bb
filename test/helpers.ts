import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseJson } from '../src/data/index.js';
import type { Table } from '../src/data/table.js';
import { initBackend } from '../src/engine/backend.js';
import type { Rng } from '../src/util/rng.js';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

export const ROOT = resolve(import.meta.dirname, '..');
export const PENGUINS = join(ROOT, 'data', 'penguins.json');
export const PENGUINS_CONFIG = join(ROOT, 'examples', 'penguins.yaml');

/** The backend the CLI uses by default (wasm with the fixed kernels). */
export async function useDefaultBackend(): Promise<void> {
  await initBackend('wasm');
}

export function penguins(): Table {
  return parseJson(readFileSync(PENGUINS, 'utf8'), PENGUINS);
}

export function tempDir(prefix = 'multiloss-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI as a user would, in a separate process. */
export function cli(args: string[], options: { cwd?: string; input?: string } = {}): CliResult {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), ...args], {
    cwd: options.cwd ?? ROOT,
    input: options.input,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 300_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A CLI run that refused bad input: exit code 2, exactly one stderr line starting `multiloss: ` and matching `pattern`, nothing on stdout. */
export function assertRefused(r: CliResult, pattern: RegExp): void {
  assert.equal(r.status, 2, `exit ${r.status}; stderr: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line expected, got:\n${r.stderr}`);
  assert.match(lines[0], /^multiloss: /);
  assert.match(lines[0], pattern);
  assert.equal(r.stdout, '');
}

/** The float32 weights of a saved model directory (its weights.bin). */
export function savedWeights(model: string): Float32Array {
  const b = readFileSync(join(model, 'weights.bin'));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/**
 * Runs the CLI with `args` and sends `signal` the first time `when` holds for
 * everything it has written to stderr so far; resolves with its exit code and stderr.
 */
export function cliWithSignal(args: string[], signal: NodeJS.Signals, when: (stderr: string) => boolean): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), ...args], { cwd: ROOT });
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!sent && when(stderr)) {
        sent = true;
        child.kill(signal);
      }
    });
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

/** n random values in (−scale, scale), about 5% of them exactly 0. */
export function sparseValues(rng: Rng, n: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.next() < 0.05 ? 0 : (rng.next() * 2 - 1) * scale;
  return out;
}

/** Asserts two tensors hold the same float32 bit patterns. */
export function assertBitsEqual(a: tf.Tensor, b: tf.Tensor, what: string): void {
  const x = new Uint32Array(Float32Array.from(a.dataSync()).buffer);
  const y = new Uint32Array(Float32Array.from(b.dataSync()).buffer);
  assert.equal(x.length, y.length, what);
  let diff = 0;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) diff++;
  assert.equal(diff, 0, `${what}: ${diff} of ${x.length} values differ`);
}

/** The penguins columns as three heads (classification, binary, regression): the usual test configuration's data part. */
export const PENGUIN_HEADS = {
  missingValues: ['.'],
  features: ['Island', 'Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)'],
  targets: [
    { name: 'species', column: 'Species', kind: 'classification' },
    { name: 'sex', column: 'Sex', kind: 'binary' },
    { name: 'mass', column: 'Body Mass (g)', kind: 'regression' },
  ],
};

/** A saved model directory's model.json and weights loaded by plain tfjs-layers (no custom layer registered). */
export async function loadPlainLayersModel(dir: string): Promise<tfl.LayersModel> {
  const modelJson = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  const weights = readFileSync(join(dir, modelJson.weightsManifest[0].paths[0]));
  return tfl.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: modelJson.modelTopology,
      weightSpecs: modelJson.weightsManifest[0].weights,
      weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
    }),
  );
}
