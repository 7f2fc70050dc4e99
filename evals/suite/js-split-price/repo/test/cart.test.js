'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { totals, totalLines } = require('../src/cart.js');

const ITEMS = [
  { order_id: 1, sku: 'A', quantity: 2, price: '12.50 EUR' },
  { order_id: 1, sku: 'B', quantity: 1, price: '3.05 EUR' },
  { order_id: 2, sku: 'C', quantity: 3, price: '1.00 SEK' },
];

test('totals per currency', () => {
  assert.deepStrictEqual(totals(ITEMS), { EUR: 2805, SEK: 300 });
});

test('formatted totals', () => {
  assert.deepStrictEqual(totalLines(ITEMS), ['28.05 EUR', '3.00 SEK']);
});
