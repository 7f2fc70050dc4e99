'use strict';
// Pulls the daily orders export. `fetchJson(url)` resolves to the parsed JSON body.
const { ORDERS_BASE } = require('./config.js');

/** The URL of one day's orders ("YYYY-MM-DD"): the day's partition in the v2 layout. */
function ordersUrl(day) {
  return `${ORDERS_BASE}/date=${day}/part-0.json`;
}

/** One day's order rows. */
async function ordersForDay(fetchJson, day) {
  return fetchJson(ordersUrl(day));
}

/** { day: revenue in cents } over the days, fetched one after the other. */
async function revenueByDay(fetchJson, days) {
  const revenue = {};
  for (const day of days) {
    const orders = await ordersForDay(fetchJson, day);
    revenue[day] = orders.reduce((sum, order) => sum + order.amount_cents, 0);
  }
  return revenue;
}

module.exports = { ordersUrl, ordersForDay, revenueByDay };
