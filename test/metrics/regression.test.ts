import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Mae, R2, Rmse } from '../../src/metrics/regression.js';
import { PoissonDeviance, Mae as CountMae } from '../../src/metrics/count.js';
import { close, f32, ones } from './helpers.js';

const Y = f32([1, 2, 3, 4]);
const P = f32([1.5, 2, 2, 5]);

describe('regression metrics', () => {
  it('rmse, mae, r2 unweighted', () => {
    const [rmse, mae, r2] = [new Rmse(), new Mae(), new R2()];
    for (const m of [rmse, mae, r2]) m.update(Y, P, ones(4));
    close(rmse.result(), 0.75);
    close(mae.result(), 0.625);
    close(r2.result(), 0.55);
    assert.equal(rmse.higherIsBetter, false);
    assert.equal(r2.higherIsBetter, true);
  });

  it('weighted and masked', () => {
    const [rmse, mae, r2] = [new Rmse(), new Mae(), new R2()];
    for (const m of [rmse, mae, r2]) m.update(Y, P, f32([1, 1, 1, 0]), f32([2, 1, 1, 7]));
    close(rmse.result(), Math.sqrt(1.5 / 4));
    close(mae.result(), 0.5);
    close(r2.result(), 5 / 11);
  });

  it('R2 is NaN for constant truth; all NaN before any row', () => {
    const r2 = new R2();
    r2.update(f32([0.1, 0.1, 0.1]), f32([0, 0.1, 0.2]), ones(3));
    assert.ok(Number.isNaN(r2.result()));
    for (const m of [new Rmse(), new Mae(), new R2(), new PoissonDeviance()]) assert.ok(Number.isNaN(m.result()));
    const masked = new Rmse();
    masked.update(f32([1]), f32([2]), f32([0]));
    assert.ok(Number.isNaN(masked.result()));
  });
});

describe('count metrics', () => {
  it('poisson deviance with y = 0 and weights', () => {
    const d = new PoissonDeviance();
    d.update(f32([0, 1, 3]), f32([0.5, 1, 2]), ones(3));
    close(d.result(), (1 + 0 + 2 * (3 * Math.log(1.5) - 1)) / 3);
    d.reset();
    d.update(f32([0, 1, 3]), f32([0.5, 1, 2]), f32([1, 1, 0]), f32([3, 1, 1]));
    close(d.result(), 3 / 4);
    assert.equal(d.name, 'poisson_deviance');
    assert.equal(d.higherIsBetter, false);
  });

  it('clips mu at 1e-7 so the deviance stays finite', () => {
    const d = new PoissonDeviance();
    d.update(f32([2]), f32([0]), ones(1));
    close(d.result(), 2 * (2 * Math.log(2 / 1e-7) - (2 - 1e-7)), 1e-9);
  });

  it('count MAE is the regression MAE', () => {
    assert.equal(CountMae, Mae);
  });
});
