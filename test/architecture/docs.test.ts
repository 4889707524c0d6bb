// docs/architecture.md stays true: its layer table is the layer rule's list (.dependency-cruiser.mjs),
// and every src/ path it names exists.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
// @ts-expect-error: a plain .mjs configuration without types
import { LAYERS } from '../../.dependency-cruiser.mjs';

const ROOT = resolve(import.meta.dirname, '../..');
const DOC = readFileSync(resolve(ROOT, 'docs/architecture.md'), 'utf8');
const plain = (pattern: string) => pattern.replace(/\\\./g, '.');

test("docs/architecture.md's layer table is the rule's layer list, in order", () => {
  const section = DOC.slice(DOC.indexOf('## Layers'), DOC.indexOf('## From a configuration'));
  const rows = section.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| layer') && !l.startsWith('| ---'));
  const table = rows.map((row) => {
    const [name, paths] = row.split('|').slice(1, 3).map((c) => c.trim());
    return { name, paths: [...paths.matchAll(/`([^`]+)`/g)].map((m) => m[1]) };
  });
  const rule = (LAYERS as { name: string; paths: string[] }[]).map((l) => ({ name: l.name, paths: l.paths.map(plain) }));
  assert.deepEqual(table, rule);
});

test('every src/ path docs/architecture.md names exists', () => {
  const paths = [...new Set([...DOC.matchAll(/`((?:src|native)\/[^`\s]*)`/g)].map((m) => m[1]))];
  assert.ok(paths.length > 30, `${paths.length} paths found`);
  assert.deepEqual(paths.filter((p) => !existsSync(resolve(ROOT, p))), []);
});
