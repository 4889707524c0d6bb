import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { rowsToTable } from '../../src/data/json.js';
import { fitHead, type Head } from '../../src/model/heads/index.js';
import { MultiHeadNetwork } from '../../src/model/network.js';
import { Rng } from '../../src/util/rng.js';
import { headLosses, type TensorBatch } from '../../src/training/trainer.js';
import { useDefaultBackend } from '../helpers.js';

// A head's loss is the weighted mean over the rows where its label is present:
// masking half the rows must give exactly the gradients of training on the
// other half alone, and a batch without any label gives 0, never NaN.
describe('missing labels', () => {
  const n = 40;
  const d = 5;
  const rng = new Rng(3);
  const x = Float32Array.from({ length: n * d }, () => rng.normal());
  const rows = Array.from({ length: n }, (_, i) => ({
    cls: ['a', 'b', 'c'][i % 3],
    yes: i % 2 === 0 ? 'yes' : 'no',
    num: rng.normal() * 10 + 50,
  }));
  let heads: Head[];
  let network: MultiHeadNetwork;

  before(async () => {
    await useDefaultBackend();
    const table = rowsToTable(rows);
    heads = [
      fitHead({ name: 'cls', column: 'cls', kind: 'classification' }, table, table),
      fitHead({ name: 'yes', column: 'yes', kind: 'binary' }, table, table),
      fitHead({ name: 'num', column: 'num', kind: 'regression' }, table, table),
    ];
    network = MultiHeadNetwork.create(d, [{ units: 8, activation: 'tanh' }, { units: 6, activation: 'relu' }], heads.map((h) => ({ name: h.name, units: h.units, activation: h.activation })), new Rng(1));
  });

  function gradsOf(head: number, rowIdx: number[], masked: (i: number) => boolean): Map<string, Float32Array> {
    const sub = rowIdx.map((i) => rows[i]);
    const table = rowsToTable(sub.map((r, k) => (masked(rowIdx[k]) ? { ...r, [heads[head].spec.column]: null } : r)));
    const targets = heads.map((h) => h.encode(table));
    const xs = new Float32Array(rowIdx.length * d);
    rowIdx.forEach((i, k) => xs.set(x.subarray(i * d, (i + 1) * d), k * d));
    let result = new Map<string, Float32Array>();
    tf.tidy(() => {
      const batch: TensorBatch = {
        x: tf.tensor2d(xs, [rowIdx.length, d]),
        y: targets.map((t, h) => tf.tensor2d(t.y, [rowIdx.length, heads[h].units])),
        w: targets.map((t) => tf.tensor1d(t.weight)),
      };
      const { grads } = tf.variableGrads(() => headLosses(network, heads, batch, true).losses[head], network.trainableVariables);
      result = new Map(Object.entries(grads).map(([k, g]) => [k, g.dataSync() as Float32Array]));
    });
    return result;
  }

  for (const [head, name] of [[0, 'classification'], [1, 'binary'], [2, 'regression']] as const) {
    it(`${name}: masking half the rows equals training on the other half alone (1e-5)`, () => {
      const all = Array.from({ length: n }, (_, i) => i);
      const labelled = all.filter((i) => i % 4 < 2);
      const masked = gradsOf(head, all, (i) => i % 4 >= 2);
      const alone = gradsOf(head, labelled, () => false);
      assert.equal(masked.size, alone.size);
      let nonZero = 0;
      for (const [k, g] of masked) {
        const h = alone.get(k) as Float32Array;
        for (let j = 0; j < g.length; j++) {
          assert.ok(Math.abs(g[j] - h[j]) <= 1e-5 * Math.max(1, Math.abs(h[j])), `${k}[${j}]: ${g[j]} vs ${h[j]}`);
          if (g[j] !== 0) nonZero++;
        }
      }
      assert.ok(nonZero > 10, 'gradients should not all be zero');
    });
  }

  it('a batch with no label for a head gives loss 0 and zero, finite gradients for it', () => {
    const all = Array.from({ length: 8 }, (_, i) => i);
    for (let head = 0; head < heads.length; head++) {
      const g = gradsOf(head, all, () => true);
      for (const [k, v] of g) for (const e of v) assert.ok(e === 0, `${k}: ${e}`);
      const table = rowsToTable(all.map((i) => ({ ...rows[i], [heads[head].spec.column]: null })));
      const t = heads[head].encode(table);
      const loss = tf.tidy(() => {
        const batch: TensorBatch = {
          x: tf.tensor2d(x.subarray(0, 8 * d), [8, d]),
          y: heads.map((h) => tf.tensor2d(h.encode(table).y, [8, h.units])),
          w: heads.map((h) => tf.tensor1d(h.encode(table).weight)),
        };
        return headLosses(network, heads, batch, false).losses[head].dataSync()[0];
      });
      assert.equal(loss, 0);
      assert.ok(t.mask.every((m) => m === 0));
    }
  });
});
