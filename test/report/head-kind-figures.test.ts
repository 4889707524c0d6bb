// The report's validation figures come from each head kind's definition (validationFigure) and
// its figures' numbers from the head's metrics (src/metrics/): built-in kinds as before, a
// registered kind with a figure gets it, one without gets the note.
import { tableRows } from '../../src/data/table-build.js';
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { registerHeadKind } from '../../src/api/index.js';
import { Mae } from '../../src/metrics/index.js';
import { parseConfig } from '../../src/config/schema.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { fitModel, splitInput } from '../../src/training/fit.js';
import { buildTrainingReport, formatNumber } from '../../src/report/training-report.js';
import { penguins, useDefaultBackend } from '../helpers.js';

/** title → subtitle of every figure of the report with a head. */
function captions(html: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of html.matchAll(/<figcaption><b>([^<]*)<\/b><span>([^<]*)<\/span>/g)) out.set(m[1], m[2]);
  return out;
}

describe('report figures through head kinds', () => {
  before(async () => {
    await useDefaultBackend();
    registerHeadKind({ kind: 'share_fig', activation: 'sigmoid', loss: 'mse', metrics: () => [new Mae()], validationFigure: { type: 'scatter', metrics: ['mae'] } });
    registerHeadKind({ kind: 'share_nofig', activation: 'sigmoid', loss: 'mse', metrics: () => [new Mae()] });
  });

  it('built-in kinds show the metrics of src/metrics; a registered kind gets the figure its definition names', async () => {
    const config = resolveConfig(
      parseConfig({
        missingValues: ['.'],
        features: ['Island', 'Beak Length (mm)', 'Beak Depth (mm)'],
        targets: [
          { name: 'species', column: 'Species', kind: 'classification' },
          { name: 'sex', column: 'Sex', kind: 'binary' },
          { name: 'mass', column: 'Body Mass (g)', kind: 'regression' },
          { name: 'flipper', column: 'flipper share', kind: 'share_fig' },
          { name: 'flipper2', column: 'flipper share', kind: 'share_nofig' },
        ],
        validation: { split: 0.3 },
        model: { trunk: [8] },
        training: { epochs: 2, batchSize: 32, seed: 5 },
      }),
    );
    const base = penguins();
    const col = base.columns.indexOf('Flipper Length (mm)');
    // The registered kinds read fractions in [0, 1].
    const table = { columns: [...base.columns, 'flipper share'], source: base.source, rows: tableRows(base).map((r) => [...r, typeof r[col] === 'number' ? ((r[col] as number) - 170) / 70 : null]) };
    const { validation } = splitInput(config, { table });
    assert.ok(validation);
    const model = await fitModel(config, { table });
    try {
      const html = await buildTrainingReport(model, { validation });
      const cap = captions(html);

      // Expected figures from the predictions, computed here by hand.
      const encoded = model.encode(validation);
      const outputs = model.predictOutputs(validation);
      const stats = (k: number) => {
        const h = model.heads[k];
        const { yMetric, mask } = encoded.targets[k];
        const p = h.toMetricSpace(outputs[k]);
        let n = 0, sse = 0, sae = 0, mean = 0, correct = 0;
        for (let i = 0; i < encoded.n; i++) {
          if (!(mask[i] > 0)) continue;
          n++;
          mean += yMetric[i];
        }
        mean /= n;
        let sst = 0;
        for (let i = 0; i < encoded.n; i++) {
          if (!(mask[i] > 0)) continue;
          sse += (p[i] - yMetric[i]) ** 2;
          sae += Math.abs(p[i] - yMetric[i]);
          sst += (yMetric[i] - mean) ** 2;
          if (h.units === 1 && (yMetric[i] > 0.5) === (p[i] >= 0.5)) correct++;
          if (h.units > 1) {
            const arg = (a: Float32Array) => Array.from(a.subarray(i * h.units, (i + 1) * h.units)).reduce((b, v, j, all) => (v > all[b] ? j : b), 0);
            if (arg(yMetric) === arg(p)) correct++;
          }
        }
        return { n, rmse: Math.sqrt(sse / n), r2: 1 - sse / sst, mae: sae / n, accuracy: correct / n };
      };
      const species = stats(0), sex = stats(1), mass = stats(2), flipper = stats(3);
      assert.equal(cap.get('species: confusion matrix'), `${species.n} labelled rows · accuracy ${formatNumber(species.accuracy)}`);
      assert.equal(cap.get('sex: confusion matrix'), `${sex.n} labelled rows · accuracy ${formatNumber(sex.accuracy)}`);
      assert.equal(cap.get('mass: predicted vs actual'), `${mass.n} labelled rows · RMSE ${formatNumber(mass.rmse)} · R² ${formatNumber(mass.r2)}`);
      assert.equal(cap.get('flipper: predicted vs actual'), `${flipper.n} labelled rows · MAE ${formatNumber(flipper.mae)}`);
      assert.match(html, /data-chart="scatter" data-head="flipper"/);
      assert.equal(cap.has('flipper2: predicted vs actual'), false);
      assert.match(html, /flipper2: share_nofig heads get no confusion matrix or scatter plot/);
    } finally {
      model.dispose();
    }
  });
});
