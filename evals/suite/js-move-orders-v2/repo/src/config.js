'use strict';
// Where this service reads its datasets.

module.exports = {
  ORDERS_BASE: 'https://data.example.internal/exports/orders/v1',
};
