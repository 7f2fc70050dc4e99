'use strict';

/** 1250, 'EUR' -> "12.50 EUR". */
function formatPrice(cents, currency) {
  const whole = Math.floor(cents / 100);
  const rest = String(cents % 100).padStart(2, '0');
  return `${whole}.${rest} ${currency}`;
}

module.exports = { formatPrice };
