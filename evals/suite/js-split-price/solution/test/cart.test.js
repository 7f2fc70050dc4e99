'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { totals, totalLines } = require('../src/cart.js');

const ITEMS = [
  { order_id: 1, sku: 'A', quantity: 2, amount_cents: 1250, currency: 'EUR' },
  { order_id: 1, sku: 'B', quantity: 1, amount_cents: 305, currency: 'EUR' },
  { order_id: 2, sku: 'C', quantity: 3, amount_cents: 100, currency: 'SEK' },
];

test('totals per currency', () => {
  assert.deepStrictEqual(totals(ITEMS), { EUR: 2805, SEK: 300 });
});

test('formatted totals', () => {
  assert.deepStrictEqual(totalLines(ITEMS), ['28.05 EUR', '3.00 SEK']);
});
