'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { totals, totalLines } = require('../src/cart.js');

const ITEMS = [
  { order_id: 7, sku: 'X', quantity: 4, amount_cents: 199, currency: 'USD' },
  { order_id: 7, sku: 'Y', quantity: 1, amount_cents: 100005, currency: 'JPY' },
  { order_id: 8, sku: 'Z', quantity: 1, amount_cents: 7, currency: 'USD' },
];

test('totals read amount_cents and currency', () => {
  assert.deepStrictEqual(totals(ITEMS), { USD: 803, JPY: 100005 });
});

test('formatted totals', () => {
  assert.deepStrictEqual(totalLines(ITEMS), ['1000.05 JPY', '8.03 USD']);
});
