import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MultilossError } from '../../src/errors.js';

describe('MultilossError', () => {
  it('is one line, with terminal control characters from quoted data escaped', () => {
    const e = new MultilossError('data', 'data.csv: line 3, column "x": "\u001b[2J\u001b[31mboom\r" is not a number\nsecond line');
    assert.equal(e.message, 'data.csv: line 3, column "x": "\\u001b[2J\\u001b[31mboom\\u000d" is not a number second line');
    assert.equal(e.exitCode, 2);
    assert.equal(new MultilossError('interrupted', 'x', 130).exitCode, 130);
  });
});
