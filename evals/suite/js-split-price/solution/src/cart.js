'use strict';
// Order totals from rows of the line_items dataset.
const { formatPrice } = require('./price.js');

/** { currency: total cents } over the items (quantity times unit amount). */
function totals(items) {
  const sums = {};
  for (const item of items) {
    sums[item.currency] = (sums[item.currency] || 0) + item.amount_cents * item.quantity;
  }
  return sums;
}

/** One "12.50 EUR" string per currency, sorted by currency code. */
function totalLines(items) {
  const sums = totals(items);
  return Object.keys(sums).sort().map((currency) => formatPrice(sums[currency], currency));
}

module.exports = { totals, totalLines };
