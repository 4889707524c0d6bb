import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { AGGREGATORS, BALANCING_METHODS, GRADIENT_METHODS, LOSS_BALANCER_NAMES, registeredBalancingMethods } from '../../src/balancing/index.js';

// Generic code never tests a method's name: what a method needs (the rows, the
// step's losses, a tensor path, a mode) is declared by the method and read by
// the generic code. This scans the generic modules for a string literal that
// is a registered method's name (which is also how `=== 'mgda'` shows up).

const ROOT = join(import.meta.dirname, '..', '..');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The generic modules: the training loop, the model, the strategy interface, the gradient balancer, the aggregator entry point and the factory. */
const SINGLE_FILES = [
  'src/balancing/strategy.ts',
  'src/balancing/gradient-balancer.ts',
  'src/balancing/aggregation/aggregate.ts',
  'src/balancing/index.ts',
];
const GENERIC_DIRS = ['src/training', 'src/model'];

/**
 * Whether `node` is not about a method although it spells one: the error kind of
 * `new MultilossError(kind, …)` (also chosen by a conditional) or a literal type such as a
 * property name in `Pick<T, 'config'>` ('config' is an error kind, a field and ConFIG's name).
 */
function isOtherWord(node: ts.Node): boolean {
  if (ts.isLiteralTypeNode(node.parent)) return true;
  let arg: ts.Node = node;
  while (ts.isConditionalExpression(arg.parent) || ts.isParenthesizedExpression(arg.parent)) arg = arg.parent;
  const call = arg.parent;
  return ts.isNewExpression(call) && call.expression.getText() === 'MultilossError' && call.arguments?.[0] === arg;
}

/** Every literal of `file` that equals one of `names`, with its line. */
function methodLiterals(file: string, text: string, names: ReadonlySet<string>): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) && names.has(node.text) && !isOtherWord(node)) {
      const line = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
      found.push(`${relative(ROOT, file)}:${line}: '${node.text}'`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('generic modules name no balancing method', () => {
  // Every method `balance.method` accepts, from the registries themselves.
  const methods = new Set<string>([...BALANCING_METHODS, ...LOSS_BALANCER_NAMES, ...GRADIENT_METHODS, ...registeredBalancingMethods()]);
  // The aggregator entry point is generic over the aggregators (sum and mean included).
  const aggregators = new Set<string>([...methods, ...AGGREGATORS]);

  it('the registries list the methods (the scan has names to look for)', () => {
    for (const name of ['static', 'equal', 'famo', 'gradnorm', 'mgda', 'pcgrad', 'dbmtl']) assert.ok(methods.has(name), name);
  });

  it('no string literal in a generic module is a method name', () => {
    const files = [...SINGLE_FILES.map((f) => join(ROOT, f)), ...GENERIC_DIRS.flatMap((d) => tsFiles(join(ROOT, d)))];
    for (const f of SINGLE_FILES) assert.ok(existsSync(join(ROOT, f)), `${f} moved: update the list of generic modules`);
    const found = files.flatMap((file) => methodLiterals(file, readFileSync(file, 'utf8'), file.endsWith('aggregate.ts') ? aggregators : methods));
    assert.deepEqual(found, [], `generic modules name methods; declare the need on the method instead:\n${found.join('\n')}`);
  });

  it('the scan sees a comparison on a method name (and not the same word in a comment or an error kind)', () => {
    const sample =
      "// mgda is special\nif (this.name === 'mgda') run();\nconst x = `pcgrad`;\nconst y = `${'dbmtl'}`;\nthrow new MultilossError('config', 'bad');\nif (m === 'config') run();\nthrow new MultilossError(x ? 'config' : 'data', 'bad');\ntype P = Pick<S, 'config'>;\n";
    assert.deepEqual(
      methodLiterals(join(ROOT, 'sample.ts'), sample, methods).map((s) => s.replace(/^.*?:/, '')),
      ["2: 'mgda'", "3: 'pcgrad'", "4: 'dbmtl'", "6: 'config'"],
    );
  });
});

describe('training computes no comparison figure', () => {
  it('no module under src/training imports src/compare (a comparison passes its Δm monitor as an object)', () => {
    const found = tsFiles(join(ROOT, 'src/training')).flatMap((file) => {
      const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
      return source.statements
        .filter((s): s is ts.ImportDeclaration | ts.ExportDeclaration => ts.isImportDeclaration(s) || ts.isExportDeclaration(s))
        .map((s) => (s.moduleSpecifier && ts.isStringLiteral(s.moduleSpecifier) ? s.moduleSpecifier.text : ''))
        .filter((spec) => /(^|\/)compare\//.test(spec))
        .map((spec) => `${relative(ROOT, file)}: ${spec}`);
    });
    assert.deepEqual(found, []);
  });
});
