'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { chronological, journey } = require('../src/timeline.js');

const EVENTS = [
  { occurred_at: 1795442709000, type: 'purchase' },
  { occurred_at: 1795442700000, type: 'open' },
  { occurred_at: 1795442705000, type: 'add_to_cart' },
];

test('chronological orders by occurred_at', () => {
  assert.deepStrictEqual(
    chronological(EVENTS).map((e) => e.occurred_at),
    [1795442700000, 1795442705000, 1795442709000],
  );
});

test('journey follows occurred_at', () => {
  assert.deepStrictEqual(journey(EVENTS), ['open', 'add_to_cart', 'purchase']);
});
