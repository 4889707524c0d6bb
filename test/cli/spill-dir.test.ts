/**
 * The stream's spill folder on disk (io/stream-spill.ts): `train --stream --spill-dir DIR` puts
 * it in DIR, named after its process; a run killed with SIGKILL leaves it (no exit handler runs),
 * and the next streamed run removes it — but never a live process's spill folder, nor anything
 * that is not a spill folder. `--spill-dir` refuses a missing folder, a file, a place where no
 * folder can be made, and use without --stream: one line naming the option, exit 2.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeTableConfig, writeTableCsv } from '../../bench/synthetic-table.js';
import { assertRefused, cli, PENGUINS, ROOT, tempDir } from '../helpers.js';

const CLI = join(ROOT, 'src', 'cli', 'main.ts');

/** Polls `check` every 50 ms until it returns a value (at most `ms`). */
async function until<T>(check: () => T | undefined, ms: number, what: string): Promise<T> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) {
    const got = check();
    if (got !== undefined) return got;
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('train --stream: the spill folder', { timeout: 300_000 }, () => {
  const dir = tempDir('multiloss-spill-dir-');
  const children: ChildProcess[] = [];
  after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  /** A configuration training on `rows` rows of the benchmark's generated table (bench/synthetic-table.ts). */
  const tableConfig = (name: string, rows: number): string => {
    writeTableCsv(join(dir, `${name}.csv`), rows);
    writeTableConfig(join(dir, `${name}.json`), join(dir, `${name}.csv`), join(dir, `${name}-model`));
    return join(dir, `${name}.json`);
  };

  it('a SIGKILLed run leaves its spill folder; the next streamed run removes it and keeps a live process\'s folder and what is not a spill', async () => {
    const spill = join(dir, 'spill');
    mkdirSync(spill);
    const bigConfig = tableConfig('big', 100_000);
    // Many epochs: the run is still training (its spill written) when it is killed.
    const killed = spawn(process.execPath, ['--import', 'tsx', CLI, 'train', '--config', bigConfig, '--stream', '--spill-dir', spill, '--epochs', '200', '--quiet'], { cwd: ROOT, stdio: 'ignore' });
    children.push(killed);
    const pid = killed.pid as number;
    const left = await until(
      () => readdirSync(spill).find((f) => f.startsWith(`multiloss-stream-${pid}-`) && readdirSync(join(spill, f)).includes('chunks.bin')),
      120_000,
      'the streamed run\'s spill file',
    );
    killed.kill('SIGKILL');
    await once(killed, 'close');
    assert.ok(existsSync(join(spill, left, 'chunks.bin')), 'SIGKILL leaves the spill folder');

    // A live process's spill folder, and things that only look like spill folders.
    const live = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    children.push(live);
    const liveFolder = join(spill, `multiloss-stream-${live.pid}-Ab12Cd`);
    mkdirSync(liveFolder);
    writeFileSync(join(liveFolder, 'chunks.bin'), 'spill of a live run');
    const notSpill = join(spill, `multiloss-stream-${pid}-Xy34Zw`);
    mkdirSync(notSpill);
    writeFileSync(join(notSpill, 'notes.txt'), 'not a spill');
    const aFile = join(spill, `multiloss-stream-${pid}-Qr56St`);
    writeFileSync(aFile, 'a file, not a folder');
    const otherName = join(spill, 'multiloss-stream-Kl78Mn');
    mkdirSync(otherName);

    const smallConfig = tableConfig('small', 2_000);
    const next = cli(['train', '--config', smallConfig, '--stream', '--spill-dir', spill, '--quiet']);
    assert.equal(next.status, 0, next.stderr);
    live.kill('SIGKILL');
    assert.ok(!existsSync(join(spill, left)), 'the killed run\'s spill folder is removed by the next streamed run');
    assert.deepEqual(readdirSync(spill).sort(), [liveFolder, notSpill, aFile, otherName].map((p) => p.slice(spill.length + 1)).sort(), 'everything else stays; the run deleted its own spill');
    assert.deepEqual(readdirSync(liveFolder), ['chunks.bin']);
  });

  it('--spill-dir: a missing folder, a file, a place no folder can be made in, and use without --stream are refused', () => {
    const out = join(dir, 'refused-model');
    const base = ['train', '--data', PENGUINS, '--target', 'Species:classification', '--epochs', '1', '--out', out];
    assertRefused(cli([...base, '--stream', '--spill-dir', join(dir, 'missing')]), /--spill-dir .*missing: no such folder$/);
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    assertRefused(cli([...base, '--stream', '--spill-dir', file]), /--spill-dir .*a-file: not a folder$/);
    // Nothing can be created in /proc, whoever runs the test (a permission test would pass as root).
    assertRefused(cli([...base, '--stream', '--spill-dir', '/proc']), /--spill-dir \/proc: the stream's spill cannot be written there/);
    assertRefused(cli([...base, '--spill-dir', dir]), /--spill-dir: only with --stream/);
    assert.ok(!existsSync(out), 'nothing written');
  });
});
