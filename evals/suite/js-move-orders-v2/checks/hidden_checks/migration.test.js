'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { ordersForDay, revenueByDay } = require('../src/sync.js');

const V2 = 'https://data.example.internal/datasets/orders/v2';
const FILES = {
  [`${V2}/date=2026-12-01/part-0.json`]: [{ amount_cents: 5 }, { amount_cents: 7 }],
  [`${V2}/date=2026-12-02/part-0.json`]: [],
};

async function fetchJson(url) {
  if (!(url in FILES)) throw new Error(`404 ${url}`);
  return FILES[url];
}

test('ordersForDay reads the v2 partition', async () => {
  assert.deepStrictEqual(await ordersForDay(fetchJson, '2026-12-01'), [
    { amount_cents: 5 },
    { amount_cents: 7 },
  ]);
});

test('revenueByDay reads v2 for every day', async () => {
  assert.deepStrictEqual(await revenueByDay(fetchJson, ['2026-12-01', '2026-12-02']), {
    '2026-12-01': 12,
    '2026-12-02': 0,
  });
});
