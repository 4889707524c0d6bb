import { tableRows } from '../../src/data/table-build.js';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseCsv, detectDelimiter } from '../../src/data/csv.js';
import { throwsMultiloss } from './helpers.js';

describe('parseCsv', () => {
  it('parses quoted fields with embedded delimiters, newlines and escaped quotes', () => {
    const text = [
      'id,name,comment',
      '1,"Smith, John","line one',
      'line two"',
      '2,plain,"she said ""hi"""',
      '3,"",x',
      '',
    ].join('\n');
    const t = parseCsv(text, 'people.csv');
    assert.deepEqual(t.columns, ['id', 'name', 'comment']);
    assert.deepEqual(tableRows(t), [
      ['1', 'Smith, John', 'line one\nline two'],
      ['2', 'plain', 'she said "hi"'],
      ['3', null, 'x'],
    ]);
    assert.deepEqual([...(t.lines ?? [])], [2, 4, 5]);
    assert.equal(t.source, 'people.csv');
  });

  it('strips a BOM and keeps cell strings untrimmed', () => {
    const t = parseCsv('\ufeffa,b\n 1 ,x\n', 'bom.csv');
    assert.deepEqual(t.columns, ['a', 'b']);
    assert.deepEqual(tableRows(t), [[' 1 ', 'x']]);
  });

  it('handles CRLF, LF, CR and mixed newlines, including CRLF inside quotes', () => {
    const crlf = parseCsv('a,b\r\n1,2\r\n3,4\r\n', 'crlf.csv');
    assert.deepEqual(tableRows(crlf), [['1', '2'], ['3', '4']]);
    assert.deepEqual([...(crlf.lines ?? [])], [2, 3]);
    const mixed = parseCsv('a,b\n\n1,2\r\n\r\n\r\n"x\r\ny",3\r4,5\n\n', 'mixed.csv');
    assert.deepEqual(tableRows(mixed), [['1', '2'], ['x\r\ny', '3'], ['4', '5']]);
    // line 1 header, 2 blank, 3 "1,2", 4-5 blank, 6-7 quoted CRLF record, 8 "4,5"
    assert.deepEqual([...(mixed.lines ?? [])], [3, 6, 8]);
  });

  it('auto-detects ";" and tab delimiters from the header line', () => {
    const semi = parseCsv('a;b;c\n1,5;2;"x;y"\n', 'semi.csv');
    assert.deepEqual(semi.columns, ['a', 'b', 'c']);
    assert.deepEqual(tableRows(semi), [['1,5', '2', 'x;y']]);
    const tab = parseCsv('a\tb\n"x\ty"\t2\n', 'tab.tsv');
    assert.deepEqual(tableRows(tab), [['x\ty', '2']]);
    assert.equal(detectDelimiter('"a,b";c;d\n1,2,3'), ';');
    assert.equal(detectDelimiter('single\n1'), ',');
  });

  it('honours an explicit delimiter', () => {
    const t = parseCsv('a,b;c\n1,2;3\n', 'x.csv', { delimiter: ';' });
    assert.deepEqual(t.columns, ['a,b', 'c']);
  });

  it('names the line of a ragged row', () => {
    const text = 'a,b,c,d,e,f,g\n1,2,3,4,5,6,7\n"multi\nline",2,3,4,5,6,7\n1,2,3,4,5\n';
    throwsMultiloss(() => parseCsv(text, 'ragged.csv'), 'data', /^ragged\.csv: line 5 has 5 fields, the header has 7/);
    throwsMultiloss(() => parseCsv('a,b\n1,2,3\n', 'r.csv'), 'data', /^r\.csv: line 2 has 3 fields, the header has 2/);
  });

  it('rejects duplicate header names, also after trimming', () => {
    throwsMultiloss(() => parseCsv('a,b,a\n1,2,3\n', 'dup.csv'), 'data', /^dup\.csv: /, '"a"', 'columns 1 and 3');
    throwsMultiloss(() => parseCsv('x, y,y \n1,2,3\n', 'dup2.csv'), 'data', '"y"', 'columns 2 and 3');
  });

  it('rejects empty header names', () => {
    throwsMultiloss(() => parseCsv(',a\n1,2\n', 'rn.csv'), 'data', /^rn\.csv: line 1: header column 1 has an empty name/);
  });

  it('reports an unterminated quote with the line where the record starts', () => {
    throwsMultiloss(() => parseCsv('a,b\n1,2\n3,"open\n4,5\n6,7\n', 'q.csv'), 'data', /^q\.csv: line 3 .*unterminated quote/);
  });

  it('returns zero rows for a header-only file and errors on an empty one', () => {
    const t = parseCsv('a,b\r\n', 'h.csv');
    assert.deepEqual(t.columns, ['a', 'b']);
    assert.deepEqual(tableRows(t), []);
    throwsMultiloss(() => parseCsv('', 'empty.csv'), 'data', /^empty\.csv: the file is empty/);
    throwsMultiloss(() => parseCsv('\ufeff\n\n  \n', 'blank.csv'), 'data', /^blank\.csv: the file is empty/);
  });

  it('skips blank and whitespace-only lines', () => {
    const t = parseCsv('a,b\n1,2\n   \n\n3,4\n', 'b.csv');
    assert.deepEqual(tableRows(t), [['1', '2'], ['3', '4']]);
    assert.deepEqual([...(t.lines ?? [])], [2, 5]);
  });

  it('guards against absurd records and column counts', () => {
    const long = `a,b\n1,"${'x'.repeat(200)}"\n`;
    throwsMultiloss(() => parseCsv(long, 'big.csv', { maxRecordLength: 100 }), 'data', /^big\.csv: line 2 is longer than the limit of 100/);
    const wide = `${Array.from({ length: 12 }, (_, i) => `c${i}`).join(',')}\n`;
    throwsMultiloss(() => parseCsv(wide, 'wide.csv', { maxColumns: 10 }), 'data', /^wide\.csv: .*12 columns.*limit of 10/);
  });
});
