import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeBlock, resolveBlock } from '../../src/model/blocks.js';

describe('trunk blocks in words (info and reports)', () => {
  it('dense blocks: units, activation, batch norm, dropout', () => {
    assert.equal(describeBlock(resolveBlock(64, 'b')), '64 relu');
    assert.equal(describeBlock(resolveBlock({ units: 32, activation: 'tanh', batchNorm: true, dropout: 0.1 }, 'b')), '32 tanh, batch norm, dropout 0.1');
  });
  it('conv blocks say they are convolutions, with kernel, stride, padding and pooling', () => {
    assert.equal(describeBlock(resolveBlock({ type: 'conv', filters: 16, pool: 'max' }, 'b')), 'conv 16 3×3 relu, max pool 2×2');
    assert.equal(
      describeBlock(resolveBlock({ type: 'conv', filters: 8, kernel: [5, 3], stride: 2, padding: 'valid', batchNorm: true, pool: { type: 'avg', size: 3, stride: 2 } }, 'b')),
      'conv 8 5×3 stride 2×2 valid relu, batch norm, avg pool 3×3 stride 2×2',
    );
    assert.equal(describeBlock(resolveBlock({ type: 'conv', units: 32, globalPool: 'avg' }, 'b')), 'conv 32 3×3 relu, global avg pool');
  });
});
