import assert from 'node:assert/strict';
import { copyFileSync, cpSync, existsSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { assertRefused, cli, PENGUINS, PENGUINS_CONFIG, tempDir } from '../helpers.js';

const dir = tempDir();
const write = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

/** Bad input: exit code 2, exactly one line on stderr matching `pattern`, nothing written. */
function expectBad(args: string[], pattern: RegExp, out?: string): void {
  assertRefused(cli(args), pattern);
  if (out) {
    assert.equal(existsSync(out), false, `${out} must not exist`);
    const leftovers = readdirSync(join(out, '..')).filter((f) => f.includes('.tmp-'));
    assert.deepEqual(leftovers, []);
  }
}

const csv = (text: string) => write(`d${Math.random().toString(36).slice(2)}.csv`, text);
const train = (data: string, targets: string[], extra: string[] = []) => {
  const out = join(dir, `out-${Math.random().toString(36).slice(2)}`);
  return { args: ['train', '--data', data, ...targets.flatMap((t) => ['--target', t]), '--epochs', '1', '--out', out, '--quiet', ...extra], out };
};
const GOOD = 'x,y,c\n1,2.5,a\n2,3.5,b\n3,1.5,a\n4,0.5,b\n';

describe('bad input: one-line errors, exit code 2, nothing left on disk', () => {
  it('missing data file', () => {
    const t = train(join(dir, 'nope.csv'), ['y:regression']);
    expectBad(t.args, /nope\.csv: no such file/, t.out);
  });
  it('empty data file', () => {
    const t = train(csv(''), ['y:regression']);
    expectBad(t.args, /\.csv: .*empty/, t.out);
  });
  it('ragged row names the line', () => {
    const t = train(csv('x,y\n1,2\n3,4,5\n'), ['y:regression']);
    expectBad(t.args, /line 3/, t.out);
  });
  it('target column absent: named, and the columns listed', () => {
    const t = train(csv(GOOD), ['price:regression']);
    expectBad(t.args, /"price" not found; columns are: "x", "y", "c"/, t.out);
  });
  it('target all missing', () => {
    const t = train(csv('x,y,z\n1,,a\n2,,b\n'), ['y:regression', 'z:binary']);
    expectBad(t.args, /"y".*no value in any row/, t.out);
  });
  it('non-numeric value in a regression target names row and value', () => {
    const t = train(csv('x,y\n1,2\n2,abc\n3,4\n'), ['y:regression']);
    expectBad(t.args, /line 3.*column "y": "abc" is not a number/, t.out);
  });
  it('a classification target with one class', () => {
    const t = train(csv('x,c\n1,a\n2,a\n'), ['c:classification']);
    expectBad(t.args, /head "c".*1 class.*at least 2/, t.out);
  });
  it('unknown head kind lists the valid ones', () => {
    const t = train(csv(GOOD), ['y:ordinal']);
    expectBad(t.args, /targets\[0\]\.kind: unknown head kind "ordinal"; valid kinds: classification, binary, multilabel, regression, count/, t.out);
  });
  it('unknown loss lists the valid ones', () => {
    const cfg = write('bad-loss.yaml', `data: ${csv(GOOD)}\ntargets:\n  - { name: y, kind: regression, loss: hinge }\nout: ${join(dir, 'o-loss')}\n`);
    expectBad(['train', '--config', cfg, '--quiet'], /unknown loss "hinge"; valid losses for this head kind: mse, mae, huber, log_cosh/, join(dir, 'o-loss'));
  });
  it('negative weight', () => {
    const cfg = write('neg.yaml', `data: ${csv(GOOD)}\ntargets:\n  - { name: y, kind: regression, weight: -1 }\nout: ${join(dir, 'o-neg')}\n`);
    expectBad(['train', '--config', cfg, '--quiet'], /targets\[0\]\.weight: .*>=0/, join(dir, 'o-neg'));
  });
  it('NaN weight', () => {
    const cfg = write('nan.yaml', `data: ${csv(GOOD)}\ntargets:\n  - { name: y, kind: regression, weight: .nan }\nout: ${join(dir, 'o-nan')}\n`);
    expectBad(['train', '--config', cfg, '--quiet'], /targets\[0\]\.weight: .*NaN/, join(dir, 'o-nan'));
  });
  it('negative sample weight in the data names the row', () => {
    const cfg = write('sw.yaml', `data: ${csv('x,y,w\n1,2,1\n2,3,-1\n3,4,1\n')}\ntargets:\n  - { name: y, kind: regression, sampleWeight: w }\nfeatures: [x]\nout: ${join(dir, 'o-sw')}\n`);
    expectBad(['train', '--config', cfg, '--quiet'], /line 3, column "w": sample weight "-1" must be a finite number ≥ 0/, join(dir, 'o-sw'));
  });
  it('batch size 0 (flag and config)', () => {
    const t = train(csv(GOOD), ['y:regression'], ['--batch-size', '0']);
    expectBad(t.args, /--batch-size must be a whole number ≥ 1/, t.out);
    const cfg = write('bs.yaml', `data: ${csv(GOOD)}\ntargets: [{ name: y, kind: regression }]\ntraining: { batchSize: 0 }\nout: ${join(dir, 'o-bs')}\n`);
    expectBad(['train', '--config', cfg, '--quiet'], /training\.batchSize: .*>=1/, join(dir, 'o-bs'));
  });
  it('unknown config key names it', () => {
    const cfg = write('typo.yaml', `data: ${csv(GOOD)}\ntargets: [{ name: y, kind: regression }]\ntrainig: { epochs: 2 }\n`);
    expectBad(['train', '--config', cfg], /unknown key "trainig"/);
  });
  it('unknown balancing method lists the valid ones', () => {
    const t = train(csv(GOOD), ['y:regression'], ['--balance', 'magic']);
    expectBad(t.args, /unknown method "magic"; valid methods: static/, t.out);
  });
});

describe('bad input at prediction time', () => {
  const model = join(dir, 'model');
  before(() => {
    const r = cli(['train', '--config', PENGUINS_CONFIG, '--epochs', '2', '--out', model, '--quiet']);
    assert.equal(r.status, 0, r.stderr);
  });

  it('prediction data lacking a feature column names it', () => {
    const data = csv('Island,Beak Length (mm),Beak Depth (mm)\nDream,40,18\n');
    expectBad(['predict', model, data], /"Flipper Length \(mm\)"/);
  });
  it('prediction output file is not written on error', () => {
    const data = csv('Island\nDream\n');
    const out = join(dir, 'p.csv');
    expectBad(['predict', model, data, '--out', out], /Beak Length/);
    assert.equal(existsSync(out), false);
  });
  it('missing model directory', () => {
    expectBad(['predict', join(dir, 'no-model'), PENGUINS], /no-model: not found/);
  });
  it('truncated weights file', () => {
    const broken = join(dir, 'truncated');
    cpSync(model, broken, { recursive: true });
    truncateSync(join(broken, 'weights.bin'), 100);
    expectBad(['predict', broken, PENGUINS], /weights\.bin has 100 bytes, the manifest describes \d+/);
  });
  it('malformed model.json', () => {
    const broken = join(dir, 'malformed');
    cpSync(model, broken, { recursive: true });
    const text = readFileSync(join(broken, 'model.json'), 'utf8');
    writeFileSync(join(broken, 'model.json'), text.slice(0, text.length / 2));
    expectBad(['predict', broken, PENGUINS], /model\.json: not valid JSON/);
  });
  it('malformed multiloss.json', () => {
    const broken = join(dir, 'badmeta');
    cpSync(model, broken, { recursive: true });
    writeFileSync(join(broken, 'multiloss.json'), JSON.stringify({ format: 'multiloss', formatVersion: 1 }));
    expectBad(['info', broken], /multiloss\.json is malformed/);
  });
  it('a newer format version names both versions', () => {
    const broken = join(dir, 'newer');
    cpSync(model, broken, { recursive: true });
    const meta = JSON.parse(readFileSync(join(broken, 'multiloss.json'), 'utf8'));
    writeFileSync(join(broken, 'multiloss.json'), JSON.stringify({ ...meta, formatVersion: 99 }));
    expectBad(['info', broken], /format version 99.*reads format 1 at most/);
  });
  it('a weight path leading out of the model directory is refused', () => {
    const broken = join(dir, 'escape');
    cpSync(model, broken, { recursive: true });
    copyFileSync(join(broken, 'weights.bin'), join(dir, 'outside.bin'));
    const mj = JSON.parse(readFileSync(join(broken, 'model.json'), 'utf8'));
    mj.weightsManifest[0].paths = ['../outside.bin'];
    writeFileSync(join(broken, 'model.json'), JSON.stringify(mj));
    expectBad(['predict', broken, PENGUINS], /must be a plain relative path inside the model directory/);
  });
});
