'use strict';

/** "12.50 EUR" -> { cents: 1250, currency: 'EUR' }. Throws on anything else. */
function parsePrice(text) {
  const match = /^(\d+)\.(\d{2}) ([A-Z]{3})$/.exec(text);
  if (!match) throw new Error(`malformed price: ${JSON.stringify(text)}`);
  return { cents: Number(match[1]) * 100 + Number(match[2]), currency: match[3] };
}

/** 1250, 'EUR' -> "12.50 EUR". */
function formatPrice(cents, currency) {
  const whole = Math.floor(cents / 100);
  const rest = String(cents % 100).padStart(2, '0');
  return `${whole}.${rest} ${currency}`;
}

module.exports = { parsePrice, formatPrice };
