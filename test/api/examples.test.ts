import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers.js';

/** What each example must print (beyond exiting with 0), so that a silent failure cannot pass. */
const EXPECTED: Record<string, RegExp[]> = {
  'layers-model.ts': [/shared layers: trunk/, /kind accuracy 0\.\d+/, /decoded: kind \w+/],
  'function-model.ts': [/distance RMSE \d/, /cosine\(distance, quadrant\)/, /predicted distance \d/],
  'dataset.ts': [/identical weights: true/],
  'custom-parts.ts': [/coverage 0\.\d+/, /"p90":/],
  'callbacks.ts': [/stopped after 3 epochs \(stopped: true\)/, /best epoch \d+/, /same weights as the uninterrupted run: true/],
};

const DIR = join(ROOT, 'examples', 'api');

describe('examples/api: every example runs (so they cannot rot)', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.ts')).sort();

  it('every example has its expectations here', () => {
    assert.deepEqual(files, Object.keys(EXPECTED).sort());
  });

  for (const file of files) {
    it(file, () => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', join(DIR, file)], { cwd: ROOT, encoding: 'utf8', timeout: 120_000, env: { ...process.env, NO_COLOR: '1' } });
      assert.equal(r.status, 0, `${file} exited with ${r.status}:\n${r.stdout}\n${r.stderr.slice(-2000)}`);
      for (const p of EXPECTED[file] ?? []) assert.match(r.stdout, p);
    });
  }
});
