/**
 * The playground page: settings on the left, live training charts, a
 * prediction form and the model download on the right. Everything that needs
 * tfjs happens in the worker (worker.ts); this script builds the
 * configuration, shows what the worker reports, and never blocks on it.
 */
import { formatNumber, metricLabel, SPLIT_RANGE, SPLITS } from '../../../src/report/history-charts.js';
import type { HeadPrediction } from '../../../src/model/heads/head.js';
import type { Prediction } from '../../../src/model/multiloss-model.js';
import type { SplitLog } from '../../../src/training/history.js';
import { LiveCharts } from './charts.js';
import type { AnswerTo, Capabilities, ColumnSummary, DataFile, FormFeature, FromWorker, Request, StopRequest, TableSummary, TrainingSummary } from './protocol.js';
import { tarDirectory } from './tar.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page: no element #${id}`);
  return el as T;
};
const el = <K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] => {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
};

// ---------------------------------------------------------------- the worker

type RequestBody = Request extends infer R ? (R extends Request ? Omit<R, 'id'> : never) : never;

/** Requests to the training worker; a crashed worker fails every pending request (nothing waits forever). */
class TrainingWorker {
  // The page's ?backend=… goes on to the worker.
  private readonly worker = new Worker(new URL(`worker.js${location.search}`, import.meta.url), { type: 'module' });
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (a: FromWorker) => void; reject: (e: Error) => void }>();
  /** Why the worker is gone, once it is: later requests fail at once. */
  private dead: string | undefined;

  constructor(private readonly onEvent: (e: FromWorker) => void) {
    this.worker.addEventListener('message', (e: MessageEvent<FromWorker>) => {
      const m = e.data;
      if ('id' in m) {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.type === 'error') p?.reject(new Error(m.message));
        else p?.resolve(m);
      } else {
        this.onEvent(m);
      }
    });
    const fail = (message: string) => {
      this.dead = message;
      for (const p of this.pending.values()) p.reject(new Error(message));
      this.pending.clear();
      this.onEvent({ type: 'failed', message });
    };
    this.worker.addEventListener('error', (e) => fail(`the training worker stopped: ${e.message || 'it could not be loaded'}`));
    this.worker.addEventListener('messageerror', () => fail('the training worker sent a message that could not be read'));
  }

  request<B extends RequestBody>(body: B, transfer: Transferable[] = []): Promise<AnswerTo<B['type']>> {
    const id = this.nextId++;
    if (this.dead !== undefined) return Promise.reject(new Error(this.dead));
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (a: FromWorker) => void, reject });
      this.worker.postMessage({ ...body, id }, transfer);
    });
  }

  stop(): void {
    this.worker.postMessage({ type: 'stop' } satisfies StopRequest);
  }
}

// ---------------------------------------------------------------- state

let capabilities: Capabilities | undefined;
let table: TableSummary | undefined;
let trainedFeatures: FormFeature[] = [];
let modelName = 'model';
let training = false;

const errorBox = $('error');
function showError(message: string): void {
  errorBox.textContent = message;
  errorBox.hidden = false;
}
function clearError(): void {
  errorBox.hidden = true;
  errorBox.textContent = '';
}

const charts = new LiveCharts($('chart-groups'), showError);
// The train / validation key above the charts, in the charts' own colours.
SPLITS.forEach((split, i) => document.documentElement.style.setProperty(`--${split}`, SPLIT_RANGE[i]));
const worker = new TrainingWorker(onEvent);

function onEvent(e: FromWorker): void {
  switch (e.type) {
    case 'ready':
      capabilities = e.capabilities;
      $('engine').textContent = `multiloss ${e.capabilities.version} · ${e.capabilities.backend} backend in a Web Worker`;
      fillModelSettings(e.capabilities);
      $('missing-defaults').textContent = `(comma-separated; always missing: ${e.capabilities.missing.join(' ')})`;
      return;
    case 'failed':
      $('engine').textContent = 'the training worker is not running';
      setTraining(false);
      showError(e.message);
      return;
    case 'begin':
      charts.begin(e.heads, e.method, e.schedule);
      $('charts').hidden = false;
      setProgress(0, e.epochs, `epoch 1 of ${e.epochs}`);
      return;
    case 'batch': {
      const total = Number($<HTMLProgressElement>('progress').max);
      setProgress(e.epoch - 1 + e.batch / e.batches, total, `epoch ${e.epoch} of ${total} · batch ${e.batch}/${e.batches}`);
      return;
    }
    case 'epoch':
      charts.add(e.log);
      return;
    case 'warning':
      $('warnings').append(el('li', { textContent: e.message }));
      return;
    default:
      return;
  }
}

function setProgress(value: number, max: number, text: string): void {
  const bar = $<HTMLProgressElement>('progress');
  bar.max = max;
  bar.value = value;
  $('status').textContent = text;
}

function setTraining(on: boolean): void {
  training = on;
  $<HTMLButtonElement>('train').disabled = on;
  $<HTMLButtonElement>('stop').disabled = !on;
  for (const id of ['file', 'penguins']) $<HTMLInputElement>(id).disabled = on;
  document.body.classList.toggle('training', on);
}

// ---------------------------------------------------------------- data

async function loadFile(file: DataFile): Promise<void> {
  clearError();
  $('data-summary').textContent = `reading ${file.name}…`;
  try {
    const answer = await worker.request({ type: 'load', file });
    table = answer.table;
    modelName = file.name.replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9._-]+/g, '-') || 'model';
    $('data-summary').textContent = `${table.rows} rows × ${table.columns.length} columns from ${table.source}`;
    fillColumns(table.columns);
    $('columns-section').hidden = false;
    $('model-section').hidden = false;
  } catch (e) {
    table = undefined;
    $('data-summary').textContent = '';
    $('columns-section').hidden = true;
    $('model-section').hidden = true;
    showError((e as Error).message);
  }
}

$<HTMLInputElement>('file').addEventListener('change', async (e) => {
  const input = e.target as HTMLInputElement;
  const file = input.files?.[0];
  if (file) await loadFile({ name: file.name, data: file });
});

$('penguins').addEventListener('click', async () => {
  try {
    const response = await fetch('data/penguins.json');
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    // The bundled example reads "." in the Sex column as missing (examples/penguins.yaml does too).
    $<HTMLInputElement>('missing').value = '.';
    await loadFile({ name: 'penguins.json', data: await response.blob() });
  } catch (e) {
    showError(`data/penguins.json: cannot fetch the bundled data (${(e as Error).message})`);
  }
});

/** A head kind to start with for a column: what its values look like. */
function guessKind(c: ColumnSummary, kinds: readonly string[]): string {
  const guess = c.type === 'numeric' && c.distinct > 2 ? 'regression' : c.type === 'boolean' || c.distinct === 2 ? 'binary' : 'classification';
  return kinds.includes(guess) ? guess : kinds[0];
}

function fillColumns(columns: readonly ColumnSummary[]): void {
  const body = $('columns').querySelector('tbody') as HTMLTableSectionElement;
  body.replaceChildren();
  const kinds = capabilities?.headKinds ?? ['classification', 'binary', 'multilabel', 'regression', 'count'];
  for (const c of columns) {
    const role = el('select', { className: 'role', title: `use of column ${c.name}` });
    role.append(el('option', { value: 'feature', textContent: 'feature' }), el('option', { value: 'target', textContent: 'target' }), el('option', { value: 'ignore', textContent: 'ignore' }));
    const kind = el('select', { className: 'kind', title: `head kind of column ${c.name}`, disabled: true });
    for (const k of kinds) kind.append(el('option', { value: k, textContent: k }));
    kind.value = guessKind(c, kinds);
    const details = `${c.type}${c.type === 'numeric' ? '' : `, ${c.distinct}${c.distinct >= 50 ? '+' : ''} values`}${c.missing ? `, ${c.missing} missing` : ''}`;
    const row = el('tr', {}, el('td', { className: 'name' }, c.name, el('small', { textContent: details })), el('td', {}, role), el('td', {}, kind));
    row.dataset.column = c.name;
    role.addEventListener('change', () => {
      kind.disabled = role.value !== 'target';
      row.classList.toggle('target', role.value === 'target');
      row.classList.toggle('ignored', role.value === 'ignore');
    });
    body.append(row);
  }
}

// ---------------------------------------------------------------- settings

function fillModelSettings(c: Capabilities): void {
  const fill = (id: string, values: readonly string[], selected: string) => {
    const select = $<HTMLSelectElement>(id);
    select.replaceChildren(...values.map((v) => el('option', { value: v, textContent: v })));
    select.value = values.includes(selected) ? selected : values[0];
  };
  fill('architecture', c.architectures, 'shared');
  fill('method', c.methods.map((m) => m.name), 'static');
  const method = $<HTMLSelectElement>('method');
  const showMode = () => {
    const modes = c.methods.find((m) => m.name === method.value)?.modes ?? [];
    $('mode-field').hidden = modes.length === 0;
    if (modes.length) fill('mode', modes, $<HTMLSelectElement>('mode').value || 'param');
  };
  method.addEventListener('change', showMode);
  showMode();
}

const numberField = (id: string): number => $<HTMLInputElement>(id).valueAsNumber;

/** The configuration the settings describe: what a config file would hold (the worker supplies the data). */
function buildConfig(): Record<string, unknown> {
  const rows = Array.from($('columns').querySelectorAll<HTMLTableRowElement>('tbody tr'));
  const use = (r: HTMLTableRowElement) => (r.querySelector('select.role') as HTMLSelectElement).value;
  const targets = rows.filter((r) => use(r) === 'target').map((r) => ({ name: r.dataset.column, column: r.dataset.column, kind: (r.querySelector('select.kind') as HTMLSelectElement).value }));
  const features = rows.filter((r) => use(r) === 'feature').map((r) => r.dataset.column);
  // Checked here because the CLI's messages for these name its flags.
  if (targets.length === 0) throw new Error('no targets: pick at least one column as a target');
  if (features.length === 0) throw new Error('no features: pick at least one column as a feature');
  const trunk = $<HTMLInputElement>('trunk')
    .value.split(/[\s,]+/)
    .filter(Boolean)
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  const method = $<HTMLSelectElement>('method').value;
  const gradient = (capabilities?.methods.find((m) => m.name === method)?.modes.length ?? 0) > 0;
  const missing = $<HTMLInputElement>('missing')
    .value.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    ...(missing.length ? { missingValues: missing } : {}),
    targets,
    features,
    model: { trunk },
    architecture: { kind: $<HTMLSelectElement>('architecture').value },
    balance: { method, ...(gradient ? { mode: $<HTMLSelectElement>('mode').value } : {}) },
    training: {
      epochs: numberField('epochs'),
      batchSize: numberField('batch-size'),
      learningRate: numberField('lr'),
      seed: numberField('seed'),
      diagnostics: $<HTMLInputElement>('diagnostics').checked,
    },
    validation: { split: numberField('validation') },
  };
}

// ---------------------------------------------------------------- training

$('train').addEventListener('click', async () => {
  if (training) return;
  clearError();
  let config: Record<string, unknown>;
  try {
    config = buildConfig();
  } catch (e) {
    showError((e as Error).message);
    return;
  }
  setTraining(true);
  // The previous model stays in the worker until this one is trained; hide it meanwhile.
  $('predict-section').hidden = true;
  $('download-section').hidden = true;
  $('warnings').replaceChildren();
  $('final-metrics').replaceChildren();
  $('progress-section').hidden = false;
  setProgress(0, 1, 'preparing the data…');
  try {
    const { summary } = await worker.request({ type: 'train', config });
    await charts.settled();
    showTrained(summary);
  } catch (e) {
    setProgress(0, 1, 'training failed');
    showError((e as Error).message);
  } finally {
    setTraining(false);
  }
});

$('stop').addEventListener('click', () => {
  worker.stop();
  $<HTMLButtonElement>('stop').disabled = true;
  $('status').textContent += ' · stopping after this epoch…';
});

function showTrained(s: TrainingSummary): void {
  setProgress(1, 1, `${s.stopped ? 'stopped' : 'done'} after ${s.epochs} epoch${s.epochs === 1 ? '' : 's'} · ${s.parameters.toLocaleString('en-US')} parameters`);
  $('status').dataset.tensors = String(s.tensors);
  $('final-metrics').replaceChildren(metricsTable(s.metrics));
  trainedFeatures = s.features;
  fillPredictForm(s.features);
  $('predict-section').hidden = false;
  $('download-section').hidden = false;
  $('intro').hidden = true;
  $('prediction').replaceChildren();
  $('prediction-details').hidden = true;
  $('file-links').replaceChildren();
  for (const span of Array.from(document.querySelectorAll('.model-name'))) span.textContent = modelName;
}

/** The final metrics: one small table per head, side by side. */
function metricsTable(m: TrainingSummary['metrics']): HTMLElement {
  const splits = [['train', m.train], ['validation', m.validation]].filter((x): x is [string, SplitLog] => x[1] !== undefined);
  const tables = el('div', { className: 'head-metrics' });
  for (const head of Object.keys(splits[0]?.[1].heads ?? {})) {
    const table = el('table', { className: 'grid metrics' });
    table.dataset.head = head;
    table.append(el('caption', { textContent: head }), el('thead', {}, el('tr', {}, el('th', { textContent: 'metric' }), ...splits.map(([name]) => el('th', { textContent: name })))));
    const body = el('tbody');
    for (const name of ['loss', ...new Set(splits.flatMap(([, s]) => Object.keys(s.heads[head]?.metrics ?? {})))]) {
      const row = el('tr', {}, el('td', { textContent: metricLabel(name) }));
      for (const [, s] of splits) row.append(el('td', { className: 'num', textContent: formatNumber(name === 'loss' ? s.heads[head]?.loss : s.heads[head]?.metrics[name]) }));
      body.append(row);
    }
    table.append(body);
    tables.append(table);
  }
  return el('div', {}, el('h3', { textContent: 'Final metrics' }), tables);
}

// ---------------------------------------------------------------- prediction

function fillPredictForm(features: readonly FormFeature[]): void {
  const box = $('predict-fields');
  box.replaceChildren();
  for (const f of features) {
    let input: HTMLInputElement | HTMLSelectElement;
    if (f.type === 'numeric') {
      input = el('input', { value: f.example, inputMode: 'decimal', spellcheck: false });
    } else {
      input = el('select');
      const values = f.type === 'boolean' ? ['true', 'false'] : (f.categories ?? []);
      input.append(el('option', { value: '', textContent: '(missing)' }), ...values.map((v) => el('option', { value: v, textContent: v })));
      input.value = f.example;
    }
    input.name = f.name;
    box.append(el('label', {}, f.name, input));
  }
}

$('predict-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  clearError();
  const row: Record<string, string> = {};
  for (const f of trainedFeatures) row[f.name] = ($('predict-fields').querySelector(`[name="${CSS.escape(f.name)}"]`) as HTMLInputElement).value;
  try {
    const { predictions } = await worker.request({ type: 'predict', rows: [row] });
    showPrediction(predictions[0]);
  } catch (err) {
    showError((err as Error).message);
  }
});

function showPrediction(p: Prediction): void {
  const table = el('table', { className: 'grid' });
  table.append(el('thead', {}, el('tr', {}, el('th', { textContent: 'head' }), el('th', { textContent: 'prediction' }), el('th', { textContent: 'probabilities' }))));
  const body = el('tbody');
  for (const [head, value] of Object.entries(p)) body.append(el('tr', {}, el('th', { textContent: head }), ...predictionCells(value)));
  table.append(body);
  $('prediction').replaceChildren(table);
  $('prediction-json').textContent = JSON.stringify(p);
  $('prediction-details').hidden = false;
}

function predictionCells(v: HeadPrediction): HTMLElement[] {
  if (typeof v === 'number') return [el('td', { className: 'num', textContent: formatNumber(v) }), el('td')];
  const label = 'label' in v ? v.label : v.labels.join(', ') || '(none)';
  const chosen = new Set('label' in v ? [v.label] : v.labels);
  const probs = el('div', { className: 'probs' });
  for (const [name, prob] of Object.entries(v.probabilities)) {
    probs.append(
      el('span', { className: chosen.has(name) ? 'chosen' : '', textContent: name }),
      el('span', {}, bar(prob)),
      el('span', { textContent: prob.toFixed(3) }),
    );
  }
  return [el('td', { textContent: label }), el('td', {}, probs)];
}

// ---------------------------------------------------------------- download

function bar(probability: number): HTMLElement {
  const b = el('span', { className: 'bar' });
  b.style.width = `${Math.round(probability * 100)}px`;
  return b;
}

function offer(name: string, data: BlobPart, type: string): HTMLAnchorElement {
  return el('a', { href: URL.createObjectURL(new Blob([data], { type })), download: name, textContent: name });
}

$('download').addEventListener('click', async () => {
  clearError();
  try {
    const { files } = await worker.request({ type: 'export' });
    const tar = offer(`${modelName}.tar`, tarDirectory(modelName, files) as Uint8Array<ArrayBuffer>, 'application/x-tar');
    tar.click();
    // Without tar: model.json (which carries multiloss's metadata too) and weights.bin in one folder are enough.
    $('file-links').replaceChildren('or save these two in one folder: ', ...files.filter((f) => f.name !== 'multiloss.json').map((f) => offer(f.name, f.data, f.name.endsWith('.json') ? 'application/json' : 'application/octet-stream')));
  } catch (e) {
    showError((e as Error).message);
  }
});
