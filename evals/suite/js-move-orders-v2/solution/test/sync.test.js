'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { ordersUrl, revenueByDay } = require('../src/sync.js');

test('ordersUrl names the day file', () => {
  assert.strictEqual(
    ordersUrl('2026-11-23'),
    'https://data.example.internal/datasets/orders/v2/date=2026-11-23/part-0.json',
  );
});

test('revenueByDay sums each day', async () => {
  const asked = [];
  const fetchJson = async (url) => {
    asked.push(url);
    return [{ amount_cents: 100 }, { amount_cents: 250 }];
  };
  assert.deepStrictEqual(await revenueByDay(fetchJson, ['2026-11-22', '2026-11-23']), {
    '2026-11-22': 350,
    '2026-11-23': 350,
  });
  assert.strictEqual(asked.length, 2);
});
