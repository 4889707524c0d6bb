import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertRefused, cli, PENGUINS, PENGUINS_CONFIG, tempDir } from '../helpers.js';

const dir = tempDir();

/** Bad input: exit code 2, exactly one line on stderr matching `pattern`, nothing on stdout, nothing written. */
function expectBad(args: string[], pattern: RegExp): void {
  assertRefused(cli(args), pattern);
  assert.deepEqual(readdirSync(dir), [], 'nothing written');
}

describe('compare and --approach: bad input is one line and exit code 2, before any training', () => {
  it('an unknown method in --methods lists the valid ones', () => {
    expectBad(
      ['compare', '--config', PENGUINS_CONFIG, '--methods', 'equal,famo,bogus'],
      /--methods: unknown balancing method "bogus"; valid methods: static, equal, .*famo.*pcgrad.*upgrad/,
    );
  });
  it('--monitor names no head or metric; --patience must be a whole number', () => {
    expectBad(['compare', '--config', PENGUINS_CONFIG, '--monitor', 'validation.wings.accuracy', '--seeds', '1', '--methods', 'equal'], /monitor "validation\.wings\.accuracy"/);
    expectBad(['compare', '--config', PENGUINS_CONFIG, '--monitor', 'deltaM', '--patience', '0'], /--patience/);
  });
  it('a method given twice', () => {
    expectBad(['compare', '--config', PENGUINS_CONFIG, '--methods', 'famo,famo'], /--methods: "famo" is given twice/);
  });
  it('a report path in a directory that does not exist', () => {
    const missing = join(dir, 'no', 'such', 'dir', 'report.html');
    expectBad(
      ['compare', '--config', PENGUINS_CONFIG, '--methods', 'equal', '--report', missing],
      /--report .*report\.html: directory .*no\/such\/dir does not exist/,
    );
    assert.equal(existsSync(join(dir, 'no')), false);
  });
  it('a JSON path in a directory that does not exist', () => {
    expectBad(['compare', '--config', PENGUINS_CONFIG, '--json', join(dir, 'nope', 'c.json')], /--json .*c\.json: directory .*nope does not exist/);
  });
  it('zero seeds', () => {
    expectBad(['compare', '--config', PENGUINS_CONFIG, '--seeds', '0'], /--seeds must be a whole number ≥ 1/);
  });
  it('no validation data to compare on', () => {
    expectBad(['compare', '--config', PENGUINS_CONFIG, '--methods', 'equal', '--validation-split', '0'], /--validation-split must be a number in \(0, 1\)/);
  });
  it('an unknown approach', () => {
    expectBad(['train', '--config', PENGUINS_CONFIG, '--approach', 'apart', '--out', join(dir, 'm')], /--approach.*apart.*joint, separate/);
  });
  it('approach in a config file is validated by the schema', () => {
    const config = join(tempDir(), 'bad.json');
    writeFileSync(config, JSON.stringify({ data: PENGUINS, targets: [{ column: 'Species', kind: 'classification' }], approach: 'both' }));
    expectBad(['train', '--config', config, '--out', join(dir, 'm')], /bad\.json: approach: .*"joint"\|"separate"/);
  });
});
