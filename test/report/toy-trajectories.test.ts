import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  TOY_METHODS,
  TOY_STEPS,
  contourLines,
  formatTable,
  onParetoSet,
  runToyTrajectories,
  toyFigureSpec,
  writeFileAtomic,
} from '../../examples/toy-trajectories.js';
import { TOY_STARTS, toyParetoX2 } from '../../src/balancing/aggregation/index.js';
import { renderSvg } from '../../src/report/index.js';
import { tempDir } from '../helpers.js';
import { assertWellFormedSvg } from './svg.js';

const show = (x: readonly number[]): string => `(${x.map((v) => v.toFixed(3)).join(', ')})`;

describe('examples/toy-trajectories', () => {
  it('covers the nineteen methods, equal (sum) first, at the tests’ budget', () => {
    assert.deepEqual(
      TOY_METHODS.map((m) => m.method),
      ['sum', 'mgda', 'pcgrad', 'gradvac', 'cagrad', 'imtl', 'nash', 'aligned', 'upgrad', 'dbmtl', 'dualproj', 'config', 'fairgrad', 'excessmtl', 'moco', 'crmogm', 'graddrop', 'modo', 'sdmgrad'],
    );
    assert.equal(TOY_STEPS, 35_000);
  });

  it('the Pareto criterion', () => {
    assert.ok(onParetoSet([0, toyParetoX2(0)]));
    assert.ok(onParetoSet([6.5, toyParetoX2(6.5) + 0.04]));
    assert.ok(!onParetoSet([0, toyParetoX2(0) + 0.1]));
    assert.ok(!onParetoSet([7.5, toyParetoX2(7)]));
  });

  // Full budget (≈ 1.5 s for the three): the methods the papers show reaching the Pareto set from every start.
  it('mgda, nash and imtl reach the Pareto set from all five starts (35k steps)', () => {
    const results = runToyTrajectories({ methods: ['mgda', 'nash', 'imtl'] });
    assert.deepEqual(
      results.map((r) => r.label),
      ['MGDA', 'Nash-MTL', 'IMTL-G'],
    );
    for (const res of results) {
      assert.equal(res.steps, TOY_STEPS);
      assert.equal(res.runs.length, 5);
      for (const [k, r] of res.runs.entries()) {
        assert.deepEqual(r.start, TOY_STARTS[k]);
        assert.ok(r.reached, `${res.method} from ${show(r.start)} ended at ${show(r.x)}`);
        // The thinned trajectory runs from the start to the final point, in far fewer than 35k points.
        assert.deepEqual(r.trajectory[0], [...r.start]);
        assert.deepEqual(r.trajectory[r.trajectory.length - 1], r.x);
        assert.ok(r.trajectory.length > 20 && r.trajectory.length < 400, `${r.trajectory.length} points`);
      }
    }
  });

  it('control: equal (sum) stalls from (9, 9) and the table says so', () => {
    const results = runToyTrajectories({ methods: ['sum'], starts: [[9, 9]] });
    assert.equal(results[0].runs[0].reached, false);
    const table = formatTable(results).split('\n');
    assert.equal(table.length, 3);
    assert.match(table[0], /^method\s+start\s+final x\s+x₂ − Pareto x₂\s+on Pareto set$/);
    assert.match(table[2], /^equal \(sum\)\s+\(9, 9\)\s+\(\d\.\d{3}, \d\.\d{3}\)\s+\d+\.\d{3}\s+no$/);
  });

  it('contourLines: the unit circle of x² + y² as one closed polyline', () => {
    const lines = contourLines((x, y) => x * x + y * y, [1], -2, 2, 41, 0);
    assert.equal(lines.length, 1);
    const pts = lines[0].points;
    assert.ok(pts.length > 30);
    assert.deepEqual(pts[0], pts[pts.length - 1], 'closed');
    for (const [x, y] of pts) assert.ok(Math.abs(Math.hypot(x, y) - 1) < 0.01, `(${x}, ${y})`);
    // Simplification keeps it closed with fewer points.
    const simple = contourLines((x, y) => x * x + y * y, [1], -2, 2, 41, 0.01)[0].points;
    assert.ok(simple.length < pts.length && simple.length > 8);
  });

  it('the figure (reduced budget): one panel per method with its five paths, markers, the Pareto curve and contours', async () => {
    const results = runToyTrajectories({ steps: 2000, record: 50 });
    const spec = toyFigureSpec(results);
    assert.ok('concat' in spec);
    assert.equal(spec.concat.length, TOY_METHODS.length);
    const svg = await renderSvg(spec);
    assertWellFormedSvg(svg);
    for (const m of TOY_METHODS) assert.match(svg, new RegExp(`>${m.label.replace(/[()]/g, '\\$&')}: \\d/5<`), m.label);
    for (const s of ['(−8.5, 7.5)', '(0, 0)', '(9, 9)', '(−7.5, −0.5)', '(9, −1)']) assert.equal(svg.split(`>${s}<`).length - 1, 1, `legend entry ${s}`);
    for (const t of ['start point', '>start<', '>end<', 'x₁', 'x₂', '2 000 steps']) assert.ok(svg.includes(t), t);
    // Per panel: 5 trajectories and 10 markers (aria-labelled); contours and the Pareto curve are unlabelled background.
    assert.equal(svg.split('aria-roledescription="line mark"').length - 1, 5 * TOY_METHODS.length);
    assert.equal(svg.split('aria-roledescription="point"').length - 1, 10 * TOY_METHODS.length);
    assert.equal(svg.split('stroke="#222"').length - 1, TOY_METHODS.length, 'one Pareto curve per panel');
    assert.ok(svg.split('stroke="#d6d6d6"').length - 1 >= 10 * TOY_METHODS.length, 'contour lines in every panel');
    assert.ok(svg.length < 1_000_000);
  });

  it('writeFileAtomic replaces the file and leaves no temporary behind', () => {
    const dir = tempDir();
    const out = join(dir, 'sub', 'fig.svg');
    writeFileAtomic(out, '<svg/>');
    writeFileAtomic(out, '<svg></svg>');
    assert.equal(readFileSync(out, 'utf8'), '<svg></svg>');
    assert.deepEqual(readdirSync(join(dir, 'sub')), ['fig.svg']);
    assert.ok(existsSync(out));
  });
});
