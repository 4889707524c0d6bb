import assert from 'node:assert/strict';
import { copyFileSync, cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertRefused, cli, cliWithSignal, savedWeights, tempDir } from '../helpers.js';
import { encodeIdx } from '../../src/data/images/idx.js';
import { pngBytes, writeImageFolder } from './image-folder.js';

const dir = tempDir('multiloss-images-cli-');
const trainDir = join(dir, 'train');
// Every fifth image has no `horizontal` label: those images train the `vertical` head only.
const trainLabels = writeImageFolder(trainDir, { n: 96, missingHorizontal: (i) => i % 5 === 0 });
const testDir = join(dir, 'test');
const testLabels = writeImageFolder(testDir, { n: 24, seed: 9 });
const TARGETS = ['--target', 'vertical:classification', '--target', 'horizontal:classification'];
const imagesArgs = ['--images', trainDir, '--labels', trainLabels, '--channels', '1', ...TARGETS];
/** The same data and targets in a configuration file beside the folder. */
const CONFIG_DATA_AND_TARGETS = `data: { images: train, labels: train/labels.csv, channels: 1 }
targets:
  - { name: vertical, kind: classification }
  - { name: horizontal, kind: classification }
`;

/** Predictions as written by `predict` to CSV: a header and one row per image. */
function csvRows(text: string): string[][] {
  return text
    .trim()
    .split('\n')
    .map((l) => l.split(','));
}

/** Bad input: exit code 2, one line naming the problem, no model directory, no temporary files or checkpoints beside it. */
function refusedAndNothingWritten(args: string[], pattern: RegExp, out: string): void {
  assertRefused(cli(args), pattern);
  assert.equal(existsSync(out), false, `${out} must not exist`);
  const leftovers = readdirSync(join(out, '..')).filter((f) => f.startsWith(`${out.split('/').pop()}`) || f.includes('.tmp-'));
  assert.deepEqual(leftovers, []);
}

describe('CLI on images: train → predict → evaluate → info', () => {
  const model = join(dir, 'joint');
  const report = join(dir, 'report.html');
  it('train --images --labels saves an ordinary model directory; the missing labels of one head are skipped', () => {
    const r = cli(['train', ...imagesArgs, '--epochs', '12', '--seed', '2', '--out', model, '--report', report]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /96 images of 8×8×1 read from \S+train/);
    // Early stopping is on by default with the validation split, and watches the validation images.
    assert.match(r.stderr, /^training stopped: .*best epoch \d+ restored \(validation\.\w+ /m);
    for (const f of ['model.json', 'weights.bin', 'multiloss.json']) assert.ok(existsSync(join(model, f)), f);
    const meta = JSON.parse(readFileSync(join(model, 'multiloss.json'), 'utf8'));
    assert.deepEqual(meta.config.images, { source: 'folder' });
    // The pixel preparation is recorded once, as meta.images.
    assert.deepEqual(meta.images, { channels: 1, scale: 'unit' });
  });

  it('--report: per-head confusion matrices on the validation images and a grid of sample images with predictions and truth', () => {
    const html = readFileSync(report, 'utf8');
    // The split holds 19 of the 96 images (20%); every fifth image has no horizontal label.
    assert.match(html, /<figure class="chart" id="chart-\d+" data-chart="confusion" data-head="vertical">\n<figcaption><b>vertical: confusion matrix<\/b><span>19 labelled images · accuracy /);
    assert.match(html, /data-chart="confusion" data-head="horizontal">\n<figcaption><b>horizontal: confusion matrix<\/b><span>1[0-9] labelled images · accuracy /);
    const samples = [...html.matchAll(/<figure class="sample" data-sample="(img-\d{3}\.png)">\n<svg [^>]*viewBox="0 0 8 8"[^>]*>(?:<rect [^>]*\/>)+<\/svg>\n<figcaption>\1<\/figcaption>\n<ul>(.*?)<\/ul>/g)];
    assert.equal(samples.length, 16);
    const truth = new Map(csvRows(readFileSync(trainLabels, 'utf8')).map((row) => [row[0], row]));
    for (const [, file, items] of samples) {
      const [, vertical, horizontal] = truth.get(file) as string[];
      assert.match(items, new RegExp(`<li class="(right|wrong)"><b>vertical</b> (top|bottom) <span>\\(truth ${vertical}\\)</span>`));
      // An image without a horizontal label shows the prediction alone.
      assert.match(items, horizontal ? new RegExp(`<b>horizontal</b> (left|right) <span>\\(truth ${horizontal}\\)</span>`) : /<li><b>horizontal<\/b> (left|right)<\/li>/);
    }
    assert.ok(samples.some(([, file]) => truth.get(file)?.[2] === ''), 'a sample without a horizontal label');
  });

  it('predict writes one row per image keyed by its file name (folder without labels, in file-name order)', () => {
    const r = cli(['predict', model, '--images', testDir]);
    assert.equal(r.status, 0, r.stderr);
    const rows = csvRows(r.stdout);
    assert.deepEqual(rows[0], ['file', 'vertical', 'vertical:p:bottom', 'vertical:p:top', 'horizontal', 'horizontal:p:left', 'horizontal:p:right']);
    assert.deepEqual(
      rows.slice(1).map((row) => row[0]),
      Array.from({ length: 24 }, (_, i) => `img-${String(i).padStart(3, '0')}.png`),
    );
    // The model learned the task: the predicted labels match the truth on unseen images.
    const truth = csvRows(readFileSync(testLabels, 'utf8')).slice(1);
    const right = rows.slice(1).filter((row, i) => row[1] === truth[i][1] && row[4] === truth[i][2]).length;
    assert.ok(right >= 20, `${right} of 24 images with both heads right`);
  });

  it('predict with the labels file: the same predictions, as JSON lines to a file', () => {
    const out = join(dir, 'predictions.json');
    const r = cli(['predict', model, '--images', testDir, '--labels', testLabels, '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 24);
    assert.equal(lines[3].file, 'img-003.png');
    const csv = csvRows(cli(['predict', model, '--images', testDir]).stdout);
    assert.equal(lines[3].vertical.label, csv[4][1]);
    assert.equal(lines[3].horizontal.probabilities.left.toFixed(5), Number(csv[4][5]).toFixed(5));
  });

  it('evaluate gives per-head metrics on labelled images', () => {
    const r = cli(['evaluate', model, '--images', testDir, '--labels', testLabels, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const result = JSON.parse(r.stdout);
    assert.equal(result.rows, 24);
    assert.deepEqual(result.labelled, { vertical: 24, horizontal: 24 });
    assert.ok(result.heads.vertical.metrics.accuracy >= 0.8, JSON.stringify(result.heads.vertical));
    assert.ok(result.heads.horizontal.metrics.accuracy >= 0.8, JSON.stringify(result.heads.horizontal));
    const text = cli(['evaluate', model, '--images', testDir, '--labels', testLabels]);
    assert.match(text.stdout, /^24 images, weighted total loss/);
  });

  it('info shows the input shape and channels', () => {
    const r = cli(['info', model]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^input {8}images 8×8×1 \(height×width×channels: grayscale\), read from an image folder; new images are read with scale unit$/m);
    const json = JSON.parse(cli(['info', model, '--json']).stdout);
    assert.deepEqual(json.inputShape, [8, 8, 1]);
  });

  it('evaluate without the labels file, or predict with --data on an image model: one-line errors', () => {
    assertRefused(cli(['evaluate', model, '--images', testDir]), /evaluation needs the labels \(--labels FILE\)/);
    assertRefused(cli(['predict', model, '--images', testDir, '--data', testLabels]), /--data and --images: give one data source/);
  });
});

describe('CLI on images: a config file', () => {
  it('data: { images, labels, channels } relative to the config file trains as the flags do', () => {
    const config = join(dir, 'images.yaml');
    writeFileSync(
      config,
      `${CONFIG_DATA_AND_TARGETS}training: { epochs: 3, seed: 2 }
out: from-config
`,
    );
    const r = cli(['train', '--config', config, '--quiet']);
    assert.equal(r.status, 0, r.stderr);
    const flags = join(dir, 'from-flags');
    assert.equal(cli(['train', ...imagesArgs, '--epochs', '3', '--seed', '2', '--out', flags, '--quiet']).status, 0);
    assert.deepEqual(savedWeights(join(dir, 'from-config')), savedWeights(flags));
  });

  it('compare on image data: separate models and the joint model under methods, the same table, JSON and HTML', () => {
    const config = join(dir, 'images.yaml');
    const json = join(dir, 'compare.json');
    const report = join(dir, 'compare.html');
    const r = cli(['compare', '--config', config, '--methods', 'equal,pcgrad', '--seeds', '1', '--json', json, '--report', report, '--quiet']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^method +vertical accuracy ↑ +horizontal accuracy ↑ +Δm % ↑/m);
    for (const row of ['separate models', 'joint equal', 'joint pcgrad']) assert.match(r.stdout, new RegExp(`^${row} +\\d\\.\\d{3} ± `, 'm'));
    const result = JSON.parse(readFileSync(json, 'utf8'));
    assert.deepEqual(result.runs.map((run: { label: string }) => run.label).sort(), ['equal', 'pcgrad', 'separate']);
    // The one split of every run: 20% of the 96 images held out.
    assert.deepEqual(result.split, { train: 77, validation: 19, seed: 2 });
    assert.match(readFileSync(report, 'utf8'), /<table/);
    assertRefused(cli(['compare', '--config', config, '--seeds', '1', '--test-data', trainLabels]), /--test-data: a table file; on image data the figures are computed on the validation images$/);
  });

  it('compare --auto on image data: every rung on the images, the winner trained, JSON and HTML written', () => {
    const config = join(dir, 'images.yaml');
    const json = join(dir, 'auto.json');
    const report = join(dir, 'auto.html');
    const r = cli(['compare', '--config', config, '--auto', '--methods', 'equal,pcgrad', '--epochs', '3', '--seeds', '1', '--tuned-static-trials', '2', '--workers', '0', '--json', json, '--report', report, '--quiet']);
    assert.equal(r.status, 0, r.stderr);
    for (const text of ['Rung 1: 4 candidates, 1 epochs, seed 2', 'Rung 2: 2 candidates, 3 epochs', 'Chosen: ', 'the full sweep of the same 4 candidates on 1 seeds']) assert.ok(r.stdout.includes(text), `${text}\n${r.stdout}`);
    const out = JSON.parse(readFileSync(json, 'utf8'));
    assert.equal(out.format, 'multiloss-auto');
    assert.match(out.data, /train$/);
    assert.deepEqual(
      out.rungs.map((rung: { epochs: number; rows: unknown[] }) => [rung.epochs, rung.rows.length]),
      [
        [1, 4],
        [3, 2],
      ],
    );
    // The winner on the full budget beside the separate models, on the images' one split (20 % of 96 held out).
    assert.deepEqual(
      out.final.rows.map((row: { label: string }) => row.label),
      ['separate', out.chosen.label],
    );
    assert.deepEqual(out.final.split, { train: 77, validation: 19, seed: 2 });
    const winner = out.final.runs.find((run: { label: string }) => run.label === out.chosen.label);
    assert.equal(winner.epochs, 3);
    assert.ok(winner.validation.heads.vertical.metrics.accuracy > 0, JSON.stringify(winner.validation));
    assert.match(readFileSync(report, 'utf8'), /<table/);
  });

  it("compare's run ids fingerprint the images: the same for a copy elsewhere, changed by one image, one label or a reading option", () => {
    const runIds = (config: string) => {
      const r = cli(['compare', '--config', config, '--methods', 'equal', '--seeds', '1', '--no-tuned-static', '--dry-run']);
      assert.equal(r.status, 0, r.stderr);
      return [...r.stdout.matchAll(/^([0-9a-f]{20}) /gm)].map((m) => m[1]);
    };
    const original = runIds(join(dir, 'images.yaml'));
    assert.equal(original.length, 2);
    const copy = join(dir, 'copy');
    cpSync(trainDir, join(copy, 'train'), { recursive: true });
    const text = readFileSync(join(dir, 'images.yaml'), 'utf8');
    writeFileSync(join(copy, 'images.yaml'), text);
    assert.deepEqual(runIds(join(copy, 'images.yaml')), original);
    // One image changed (the labels file unchanged): every run has a new id.
    const png = join(copy, 'train', 'img-007.png');
    writeFileSync(png, pngBytes(8, 8, (x, y) => [x * 30, y * 30, 0]));
    const afterChange = runIds(join(copy, 'images.yaml'));
    for (const id of afterChange) assert.ok(!original.includes(id), `${id} after changing one image`);
    // One label changed: new ids again.
    const labels = join(copy, 'train', 'labels.csv');
    const rows = readFileSync(labels, 'utf8').split('\n');
    rows[1] = rows[1].replace(/,(top|bottom),/, (_, v: string) => (v === 'top' ? ',bottom,' : ',top,'));
    writeFileSync(labels, rows.join('\n'));
    const afterLabel = runIds(join(copy, 'images.yaml'));
    for (const id of afterLabel) assert.ok(![...original, ...afterChange].includes(id), `${id} after changing one label`);
    // The same files read at another size are other data.
    writeFileSync(join(copy, 'resized.yaml'), text.replace('channels: 1', 'channels: 1, size: [6, 6]'));
    const resized = runIds(join(copy, 'resized.yaml'));
    for (const id of resized) assert.ok(!afterLabel.includes(id), `${id} at another size`);
  });

  it('an image source without its labels file, or with an unknown key: one line naming the option', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'data: { images: train }\ntargets: [{ name: vertical, kind: classification }]\n');
    assertRefused(cli(['train', '--config', bad]), /bad\.yaml: data\.labels: Invalid input: expected string, received undefined$/);
    writeFileSync(bad, 'data: { images: train, labels: train/labels.csv, channel: 1 }\ntargets: [{ name: vertical, kind: classification }]\n');
    assertRefused(cli(['train', '--config', bad]), /bad\.yaml: data: unknown key "channel"$/);
    writeFileSync(bad, 'data: { pictures: train }\ntargets: [{ name: vertical, kind: classification }]\n');
    assertRefused(cli(['train', '--config', bad]), /bad\.yaml: data: unknown key "pictures"; expected a file path, \{ images: DIR, labels: FILE \} or \{ idx: \{ images: FILE, labels: FILE \} \}$/);
    writeFileSync(bad, 'data: { images: train, labels: train/labels.csv, channels: 2 }\ntargets: [{ name: vertical, kind: classification }]\n');
    assertRefused(cli(['train', '--config', bad]), /bad\.yaml: data\.channels: expected 1 \(grayscale\) or 3 \(RGB\)$/);
  });
});

describe('CLI on images: IDX files', () => {
  it('train --images FILE.idx --labels FILE.idx (label column "label"); predict keys each image by its position', () => {
    // 40 images of 6×6: bright left half (label 0) or right half (label 1), in IDX as MNIST ships it.
    const n = 40;
    const pixels = new Uint8Array(n * 36);
    const labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = i % 2;
      for (let p = 0; p < 36; p++) pixels[i * 36 + p] = (p % 6 < 3) === (labels[i] === 0) ? 200 + (i % 7) : 20 + (p % 5);
    }
    const images = join(dir, 'images.idx');
    const labelsFile = join(dir, 'labels.idx');
    writeFileSync(images, encodeIdx([n, 6, 6], 'uint8', pixels));
    writeFileSync(labelsFile, encodeIdx([n], 'uint8', labels));
    const model = join(dir, 'idx-model');
    const r = cli(['train', '--images', images, '--labels', labelsFile, '--target', 'label:classification', '--epochs', '20', '--lr', '0.01', '--out', model, '--quiet']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(cli(['info', model]).stdout, /^input {8}images 6×6×1 \(height×width×channels: grayscale\), read from IDX files; new images are read with scale unit$/m);
    const rows = csvRows(cli(['predict', model, '--images', images]).stdout);
    assert.deepEqual(rows[0], ['image', 'label', 'label:p:0', 'label:p:1']);
    assert.deepEqual(
      rows.slice(1, 5).map((row) => row.slice(0, 2)),
      [['1', '0'], ['2', '1'], ['3', '0'], ['4', '1']],
    );
    const config = join(dir, 'idx.yaml');
    writeFileSync(config, 'data: { idx: { images: images.idx, labels: labels.idx, labelColumn: digit } }\ntargets: [{ name: digit, kind: classification }]\ntraining: { epochs: 1 }\nout: idx-from-config\n');
    assert.equal(cli(['train', '--config', config, '--quiet']).status, 0);
    assert.ok(existsSync(join(dir, 'idx-from-config', 'model.json')));
  });
});

describe('CLI on images: approach separate', () => {
  const model = join(dir, 'separate');
  it('trains one model per target; predict, evaluate and info read the separate directory', () => {
    const report = join(dir, 'separate.html');
    const r = cli(['train', ...imagesArgs, '--approach', 'separate', '--epochs', '12', '--seed', '2', '--out', model, '--quiet', '--report', report]);
    assert.equal(r.status, 0, r.stderr);
    const html = readFileSync(report, 'utf8');
    assert.equal([...html.matchAll(/data-chart="confusion" data-head="(vertical|horizontal)"/g)].length, 2);
    assert.equal([...html.matchAll(/<figure class="sample"/g)].length, 16);
    const meta = JSON.parse(readFileSync(join(model, 'multiloss.json'), 'utf8'));
    assert.equal(meta.approach, 'separate');
    assert.deepEqual(
      meta.models.map((m: { head: string }) => m.head),
      ['vertical', 'horizontal'],
    );
    const info = cli(['info', model]);
    assert.match(info.stdout, /^approach {5}separate \(2 models, one per head\)$/m);
    assert.match(info.stdout, /^input {8}images 8×8×1 /m);
    const evaluation = JSON.parse(cli(['evaluate', model, '--images', testDir, '--labels', testLabels, '--json']).stdout);
    assert.deepEqual(Object.keys(evaluation.heads), ['vertical', 'horizontal']);
    assert.ok(evaluation.heads.vertical.metrics.accuracy >= 0.8);
    const rows = csvRows(cli(['predict', model, '--images', testDir]).stdout);
    assert.equal(rows.length, 25);
    assert.equal(rows[1][0], 'img-000.png');
  });
});

describe('CLI on images: bad input is one line, exit 2, nothing written', () => {
  const broken = (name: string, change: (folder: string, labels: string) => void): { folder: string; labels: string } => {
    const folder = join(dir, name);
    const labels = writeImageFolder(folder, { n: 6 });
    change(folder, labels);
    return { folder, labels };
  };
  const train = (folder: string, labels: string, name: string) => {
    const out = join(dir, `out-${name}`);
    return { args: ['train', '--images', folder, '--labels', labels, ...TARGETS, '--epochs', '1', '--out', out, '--quiet'], out };
  };

  it('a corrupt image file', () => {
    const { folder, labels } = broken('corrupt', (f) => writeFileSync(join(f, 'img-002.png'), readFileSync(join(f, 'img-002.png')).subarray(0, 40)));
    const t = train(folder, labels, 'corrupt');
    refusedAndNothingWritten(t.args, /img-002\.png: cannot decode the PNG image/, t.out);
  });
  it('an image of the wrong size', () => {
    const { folder, labels } = broken('wrong-size', (f) => writeFileSync(join(f, 'img-004.png'), pngBytes(9, 8, () => [0, 0, 0])));
    const t = train(folder, labels, 'wrong-size');
    refusedAndNothingWritten(t.args, /img-004\.png: image is 8×9 \(height×width\), the first image \(img-000\.png\) is 8×8; all images must have the same size, or set size: \[height, width\] to resize them \(labels\.csv row 5\)$/, t.out);
  });
  it('a label row naming a missing file', () => {
    const { folder, labels } = broken('missing-file', (_f, l) => writeFileSync(l, `${readFileSync(l, 'utf8')}gone.png,top,left\n`));
    const t = train(folder, labels, 'missing-file');
    refusedAndNothingWritten(t.args, /labels\.csv: row \d+ names gone\.png, which is not in the image folder \S+missing-file$/, t.out);
  });
  it('an unreadable folder', () => {
    const labels = join(dir, 'elsewhere.csv');
    copyFileSync(trainLabels, labels);
    const t = train(join(dir, 'no-such-folder'), labels, 'no-folder');
    refusedAndNothingWritten(t.args, /no-such-folder: no such image folder/, t.out);
    const out = join(dir, 'no-folder.csv');
    assertRefused(cli(['predict', join(dir, 'joint'), '--images', join(dir, 'no-such-folder'), '--out', out]), /no-such-folder: no such image folder$/);
    assert.equal(existsSync(out), false);
  });
  it('images of the wrong size for the model (predict)', () => {
    const folder = join(dir, 'big');
    writeImageFolder(folder, { n: 3, size: 10 });
    const out = join(dir, 'big.csv');
    assertRefused(cli(['predict', join(dir, 'joint'), '--images', folder, '--out', out]), /images of shape 10×10×1 .* do not fit this model's input 8×8×1: size 10×10; the model expects 8×8/);
    assert.equal(existsSync(out), false);
  });
});

describe('CLI on images: interrupt and resume', () => {
  // Enough epochs that a signal lands mid-run; early stopping off so that both runs train every epoch.
  const config = join(dir, 'slow.yaml');
  writeFileSync(
    config,
    `${CONFIG_DATA_AND_TARGETS}model: { trunk: [{ type: conv, filters: 4, kernel: 3, pool: max }, 16] }
validation: { split: 0.25 }
training: { epochs: 60, batchSize: 16, seed: 5, earlyStopping: false }
balance: { method: uncertainty }
`,
  );
  const close = (a: Float32Array, b: Float32Array, what: string) => {
    assert.equal(a.length, b.length, what);
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-6 * Math.max(1, Math.abs(a[i])), `${what} weight ${i}: ${a[i]} vs ${b[i]}`);
  };

  it('joint: SIGINT writes a checkpoint, exit 130; --resume ends with the uninterrupted weights', async () => {
    const straight = join(dir, 'straight');
    assert.equal(cli(['train', '--config', config, '--out', straight, '--quiet']).status, 0);
    const out = join(dir, 'interrupted');
    const r = await cliWithSignal(['train', '--config', config, '--out', out], 'SIGINT', (stderr) => /^epoch 3\//m.test(stderr));
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /SIGINT: training interrupted after epoch \d+ \(a checkpoint was written\); resume with: multiloss train --resume \S+interrupted\.checkpoints/);
    assert.equal(existsSync(out), false);
    const stopped = Number(/after epoch (\d+)/.exec(r.stderr)?.[1]);
    const resumed = cli(['train', '--resume', `${out}.checkpoints`]);
    assert.equal(resumed.status, 0, resumed.stderr);
    // It continued from the checkpoint (a fresh run with the same seed would end with the same weights too).
    assert.match(resumed.stderr, new RegExp(`; resuming after epoch ${stopped}\n`));
    assert.equal(/^epoch (\d+)\//m.exec(resumed.stderr)?.[1], String(stopped + 1));
    close(savedWeights(straight), savedWeights(out), 'joint');
  });

  it('separate: SIGTERM in the second model, exit 143; --resume ends with the uninterrupted weights', async () => {
    const straight = join(dir, 'straight-separate');
    assert.equal(cli(['train', '--config', config, '--approach', 'separate', '--out', straight, '--quiet']).status, 0);
    const out = join(dir, 'interrupted-separate');
    const r = await cliWithSignal(['train', '--config', config, '--approach', 'separate', '--out', out], 'SIGTERM', (stderr) => /model 2\/2[\s\S]*^epoch 3\//m.test(stderr));
    assert.equal(r.code, 143, r.stderr);
    assert.match(r.stderr, /SIGTERM: training interrupted in model 2 of 2 \(head "horizontal"\) after epoch \d+ \(a checkpoint was written\)/);
    const stopped = Number(/after epoch (\d+)/.exec(r.stderr)?.[1]);
    const resumed = cli(['train', '--resume', `${out}.checkpoints`]);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, new RegExp(`; resuming: 1 of 2 models trained, model 2 continues after epoch ${stopped}\n`));
    assert.doesNotMatch(resumed.stderr, /model 1\/2/);
    assert.equal(/^epoch (\d+)\//m.exec(resumed.stderr)?.[1], String(stopped + 1));
    for (const sub of ['0-vertical', '1-horizontal']) close(savedWeights(join(straight, sub)), savedWeights(join(out, sub)), sub);
  });
});
