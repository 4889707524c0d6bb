/**
 * A data, config or image path that is not a regular file — a device
 * (/dev/zero never ends), a pipe (FIFO: a read blocks until a writer comes),
 * a socket or a directory — is refused at once with a one-line error naming
 * it, by every reader (`statChecked` in src/io/files.ts) and through every
 * CLI command that reads data.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readIdxFile } from '../../src/io/image-files.js';
import { isMultilossError } from '../../src/errors.js';
import { readConfigFile } from '../../src/io/config-file.js';
import { openTableStream } from '../../src/io/stream-table.js';
import { readTableFile } from '../../src/io/table-file.js';
import { assertRefused, cli, tempDir } from '../helpers.js';

const dir = tempDir('multiloss-special-');
const GOOD = `x,c,y,k\n${Array.from({ length: 24 }, (_, i) => `${i},${'ab'[i % 2]},${(i * 0.37) % 3},${'AB'[Math.floor(i / 2) % 2]}`).join('\n')}\n`;

const KINDS = {
  device: { pattern: /: is a device, expected a file$/ },
  fifo: { pattern: /: is a pipe \(FIFO\), expected a regular file; write the data to a file first$/ },
  socket: { pattern: /: is a socket or another special file, expected a regular file$/ },
  directory: { pattern: /: is a directory, expected a file$/ },
} as const;
type Kind = keyof typeof KINDS;

/** Bad input: exit code 2, one line on stderr naming the path, nothing on stdout, no output left. */
function expectRefused(args: string[], path: string, kind: Kind, out?: string): void {
  const r = cli(args);
  assertRefused(r, KINDS[kind].pattern);
  assert.ok(r.stderr.includes(path), `${r.stderr} names ${path}`);
  if (out) {
    assert.equal(existsSync(out), false, `${out} must not exist`);
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), []);
  }
}

describe('special files are refused at once', () => {
  const paths = {} as Record<Kind, string>;
  let server: Server;
  const model = join(dir, 'model');
  const good = join(dir, 'good.csv');

  before(async () => {
    paths.device = join(dir, 'zero.csv');
    symlinkSync('/dev/zero', paths.device);
    paths.fifo = join(dir, 'pipe.csv');
    execFileSync('mkfifo', [paths.fifo]);
    paths.directory = join(dir, 'folder.csv');
    mkdirSync(paths.directory);
    paths.socket = join(dir, 'socket.csv');
    server = createServer();
    await new Promise<void>((resolve) => server.listen(paths.socket, resolve));
    writeFileSync(good, GOOD);
    const r = cli(['train', '--data', good, '--target', 'y:regression', '--target', 'k:classification', '--epochs', '1', '--out', model, '--quiet']);
    assert.equal(r.status, 0, r.stderr);
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('every reader: tables (whole and streamed), config files and image files', async () => {
    for (const kind of Object.keys(KINDS) as Kind[]) {
      const path = paths[kind];
      const check = (e: unknown, what: string) => {
        assert.ok(isMultilossError(e), `${kind}: ${String(e)}`);
        assert.ok((e as Error).message.startsWith(`${what} ${path}: `), (e as Error).message);
        assert.match((e as Error).message, KINDS[kind].pattern);
        return true;
      };
      assert.throws(() => readTableFile(path), (e) => check(e, 'data file'));
      await assert.rejects(openTableStream(path), (e) => check(e, 'data file'));
      assert.throws(() => readConfigFile(path), (e) => check(e, 'config file'));
      assert.throws(() => readIdxFile(path), (e) => check(e, 'IDX file'));
    }
  });

  it('train: --data, --validation-data, --stream and --config', () => {
    const targets = ['--target', 'y:regression', '--target', 'k:classification', '--epochs', '1', '--quiet'];
    let out = join(dir, 'm1');
    expectRefused(['train', '--data', paths.fifo, ...targets, '--out', out], paths.fifo, 'fifo', out);
    out = join(dir, 'm2');
    expectRefused(['train', '--data', good, '--validation-data', paths.device, ...targets, '--out', out], paths.device, 'device', out);
    out = join(dir, 'm3');
    expectRefused(['train', '--data', paths.device, '--stream', ...targets, '--out', out], paths.device, 'device', out);
    out = join(dir, 'm4');
    expectRefused(['train', '--config', paths.socket, '--out', out], paths.socket, 'socket', out);
  });

  it('compare: --data and --test-data', () => {
    const compare = ['compare', '--target', 'y:regression', '--target', 'k:classification', '--epochs', '1', '--seeds', '1', '--methods', 'equal', '--workers', '0', '--quiet'];
    expectRefused([...compare, '--data', paths.device], paths.device, 'device');
    expectRefused([...compare, '--data', good, '--test-data', paths.fifo], paths.fifo, 'fifo');
  });

  it('predict and evaluate', () => {
    const out = join(dir, 'predictions.csv');
    expectRefused(['predict', model, paths.fifo, '--out', out], paths.fifo, 'fifo', out);
    expectRefused(['evaluate', model, paths.device], paths.device, 'device');
  });
});
