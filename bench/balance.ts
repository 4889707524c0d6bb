// `npm run bench -- balance` (issue 3): workload W1 with a third, binary head
// (T = 3) under every balancing method and mode; samples/s and the ratio to
// `static`. Expected: loss-based ≥ 0.9×, famo ≥ 0.75×, rep-mode gradient
// methods ≥ 0.6×, param-mode ≥ 1/(T+1).
import { GRADIENT_METHODS, LOSS_BALANCER_NAMES, VALID_MODES, type BalanceSpec } from '../src/balancing/index.js';
import { Rng } from '../src/training/rng.js';
import { multilossRate, w1Data } from './w1.js';

export interface BalanceRow {
  method: string;
  mode: string;
  samplesPerSecond: number;
  ratio: number;
  expected: number;
}

export async function runBalance(options: { rows?: number; epochs?: number } = {}): Promise<BalanceRow[]> {
  const rows = options.rows ?? 4096;
  const epochs = options.epochs ?? 2;
  const train = w1Data(rows, new Rng(7), true);
  const T = 3;
  const specs: { spec: BalanceSpec; expected: number }[] = [
    { spec: { method: 'static' }, expected: 1 },
    ...LOSS_BALANCER_NAMES.map((method) => ({ spec: { method }, expected: method === 'famo' ? 0.75 : 0.9 })),
    ...GRADIENT_METHODS.flatMap((method) => VALID_MODES[method].map((mode) => ({ spec: { method, mode }, expected: mode === 'rep' ? 0.6 : 1 / (T + 1) }))),
  ];
  const out: BalanceRow[] = [];
  let staticRate = 0;
  for (const { spec, expected } of specs) {
    // Best of two runs: the machine is shared, and noise only ever slows a run down.
    const rate = Math.max(await multilossRate(train, epochs, 128, true, spec), await multilossRate(train, epochs, 128, true, spec));
    if (spec.method === 'static') staticRate = rate;
    out.push({ method: spec.method, mode: spec.mode ?? '-', samplesPerSecond: rate, ratio: rate / staticRate, expected });
  }
  return out;
}
