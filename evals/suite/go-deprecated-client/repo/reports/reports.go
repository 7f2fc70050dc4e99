// Package reports computes billing reports from warehouse datasets.
package reports

import (
	"fmt"
	"strconv"

	"example.com/billing/warehouse"
)

// OverdueCents sums amount_cents of the invoices whose status is "overdue", per customer.
func OverdueCents(client *warehouse.Client) (map[string]int64, error) {
	rows, err := client.Query("invoices")
	if err != nil {
		return nil, err
	}
	totals := map[string]int64{}
	for _, row := range rows {
		if row["status"] != "overdue" {
			continue
		}
		cents, err := strconv.ParseInt(row["amount_cents"], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("invoices: amount_cents %q: %w", row["amount_cents"], err)
		}
		totals[row["customer"]] += cents
	}
	return totals, nil
}

// CustomersByPlan counts customers per plan.
func CustomersByPlan(client *warehouse.Client) (map[string]int, error) {
	rows, err := client.Query("customers")
	if err != nil {
		return nil, err
	}
	counts := map[string]int{}
	for _, row := range rows {
		counts[row["plan"]]++
	}
	return counts, nil
}
