// Package reports computes billing reports from warehouse datasets.
package reports

import (
	"fmt"
	"strconv"

	"example.com/billing/warehouse"
)

// OverdueCents sums amount_cents of the invoices whose status is "overdue", per customer.
func OverdueCents(client *warehouse.Client) (map[string]int64, error) {
	totals := map[string]int64{}
	err := client.Scan("invoices", []string{"customer", "status", "amount_cents"}, func(row warehouse.Row) error {
		if row["status"] != "overdue" {
			return nil
		}
		cents, err := strconv.ParseInt(row["amount_cents"], 10, 64)
		if err != nil {
			return fmt.Errorf("invoices: amount_cents %q: %w", row["amount_cents"], err)
		}
		totals[row["customer"]] += cents
		return nil
	})
	if err != nil {
		return nil, err
	}
	return totals, nil
}

// CustomersByPlan counts customers per plan.
func CustomersByPlan(client *warehouse.Client) (map[string]int, error) {
	counts := map[string]int{}
	err := client.Scan("customers", []string{"plan"}, func(row warehouse.Row) error {
		counts[row["plan"]]++
		return nil
	})
	if err != nil {
		return nil, err
	}
	return counts, nil
}
