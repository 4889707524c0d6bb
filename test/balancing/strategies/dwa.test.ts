import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DwaBalancer } from '../../../src/balancing/strategies/index.js';
import { allClose, close, combineValues, heads, throwsConfig, useCpu } from './helpers.js';

before(useCpu);

const H = heads(['regression', 'classification', 'binary']);
const E0 = [1, 2, 4];
const E1 = [0.5, 1.8, 4.4];
const E2 = [0.25, 1.8, 4.4];

describe('dwa', () => {
  it('equal weights during the first two epochs', () => {
    const b = new DwaBalancer(H);
    assert.deepEqual(combineValues(b, [3, 1, 2]).weights, [1, 1, 1]);
    b.endEpoch(E0);
    assert.deepEqual(combineValues(b, [3, 1, 2]).weights, [1, 1, 1]);
    b.endEpoch(E1);
    assert.notDeepEqual(combineValues(b, [3, 1, 2]).weights, [1, 1, 1]);
  });

  it('then w = T·softmax(r/τ), r = L(e−1)/L(e−2), τ = 2 (numbers computed by hand)', () => {
    const b = new DwaBalancer(H);
    b.endEpoch(E0);
    b.endEpoch(E1);
    // r = (0.5, 0.9, 1.1); 3·exp(r/2)/Σ exp(r/2)
    const w2 = [0.8400392815757212, 1.0260262954794734, 1.1339344229448054];
    allClose(b.currentWeights(), w2, 1e-12);
    const { total, weights } = combineValues(b, [1, 2, 3]);
    allClose(weights, w2, 1e-6);
    close(total, w2[0] + 2 * w2[1] + 3 * w2[2], 1e-6);
    close(
      weights.reduce((a, w) => a + w, 0),
      3,
      1e-6,
    );
    // Only the last two epochs count: r = (0.5, 1, 1).
    b.endEpoch(E2);
    allClose(b.currentWeights(), [0.8407951960600039, 1.079602401969998, 1.079602401969998], 1e-12);
  });

  it('temperature: smaller τ sharpens the weights', () => {
    const b = new DwaBalancer(H, { temperature: 0.5 });
    b.endEpoch(E0);
    b.endEpoch(E1);
    allClose(b.currentWeights(), [0.4583190976651367, 1.0200079101634985, 1.5216729921713648], 1e-12);
    const flat = new DwaBalancer(H, { temperature: 1e6 });
    flat.endEpoch(E0);
    flat.endEpoch(E1);
    allClose(flat.currentWeights(), [1, 1, 1], 1e-6);
  });

  it('state round-trips through JSON and keeps only the last two epochs', () => {
    const a = new DwaBalancer(H);
    a.endEpoch(E0);
    a.endEpoch(E1);
    a.endEpoch(E2);
    const state = JSON.parse(JSON.stringify(a.getState()));
    assert.deepEqual(state, { losses: [E1, E2] });
    const b = new DwaBalancer(H);
    b.setState(state);
    assert.deepEqual(combineValues(b, [1, 2, 3]), combineValues(a, [1, 2, 3]));
    a.endEpoch([0.2, 1.7, 4]);
    b.endEpoch([0.2, 1.7, 4]);
    assert.deepEqual(b.currentWeights(), a.currentWeights());
    assert.throws(() => b.setState({ losses: [[1, 2]] }), /losses/);
  });

  it('validates its options', () => {
    throwsConfig(() => new DwaBalancer(H, { temperature: 0 }), /balance\.temperature \(method "dwa"\) must be a finite number in \(0, ∞\)/, /got 0/);
    throwsConfig(() => new DwaBalancer(H, { temperature: 'hot' as never }), /balance\.temperature/, /got "hot"/);
    throwsConfig(() => new DwaBalancer(H, { tau: 2 } as never), /balance\.tau is not an option of balance\.method "dwa"; valid options: temperature/);
  });
});
