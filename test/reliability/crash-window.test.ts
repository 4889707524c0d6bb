/**
 * saveModel replaces a directory with two renames (the old one aside, the new
 * one in). A crash between them must not lose the model: the new version waits
 * under `.NAME.ready` and the next load (or save) puts it in place.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { loadModel, recoverInterruptedSave, saveModel } from '../../src/io/model-dir.js';
import type { MultilossModel } from '../../src/model/multiloss-model.js';
import { tempDir, useDefaultBackend } from '../helpers.js';
import { tinyModel, tinyTable } from '../fuzz/tiny-model.js';

describe('a save killed between its two renames', () => {
  let model: MultilossModel;
  const dir = tempDir('multiloss-window-');
  before(async () => {
    await useDefaultBackend();
    model = await tinyModel();
  });

  it('loadModel finds the complete new version and puts it in place', async () => {
    const target = join(dir, 'm');
    await saveModel(model, target);
    // The state a kill leaves: the old directory moved aside, the new one still under its waiting name.
    cpSync(target, join(dir, '.m.ready'), { recursive: true });
    renameSync(target, join(dir, '.m.tmp-1-deadbeef'));
    assert.equal(existsSync(target), false);
    const loaded = await loadModel(target);
    assert.deepEqual(loaded.predict(tinyTable(3)), model.predict(tinyTable(3)));
    loaded.dispose();
    assert.equal(existsSync(target), true);
    assert.equal(existsSync(join(dir, '.m.ready')), false);
  });

  it('the next save completes it too, and leaves no waiting copy behind', async () => {
    const target = join(dir, 'n');
    await saveModel(model, target);
    cpSync(target, join(dir, '.n.ready'), { recursive: true });
    renameSync(target, join(dir, '.n.tmp-1-cafebabe'));
    await saveModel(model, target);
    assert.equal(existsSync(target), true);
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('.n.ready')), []);
  });

  it('recoverInterruptedSave leaves an existing directory alone (a stale waiting copy is the older save)', async () => {
    const target = join(dir, 'o');
    await saveModel(model, target);
    cpSync(target, join(dir, '.o.ready'), { recursive: true });
    recoverInterruptedSave(target);
    assert.equal(existsSync(join(dir, '.o.ready')), true);
    await saveModel(model, target);
    assert.equal(existsSync(join(dir, '.o.ready')), false);
  });
});
