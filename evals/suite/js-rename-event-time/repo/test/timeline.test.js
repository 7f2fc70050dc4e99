'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { countByType } = require('../src/timeline.js');

test('countByType counts each type', () => {
  const events = [
    { ts: 3, type: 'open' },
    { ts: 1, type: 'tap' },
    { ts: 2, type: 'tap' },
  ];
  assert.deepStrictEqual(countByType(events), { open: 1, tap: 2 });
});

test('countByType of nothing', () => {
  assert.deepStrictEqual(countByType([]), {});
});
