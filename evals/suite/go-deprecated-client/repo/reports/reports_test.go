package reports

import (
	"errors"
	"reflect"
	"testing"

	"example.com/billing/warehouse"
)

type fixture map[string][]warehouse.Row

func (f fixture) Rows(dataset string) ([]warehouse.Row, error) {
	rows, ok := f[dataset]
	if !ok {
		return nil, errors.New("no dataset " + dataset)
	}
	return rows, nil
}

var data = fixture{
	"invoices": {
		{"customer": "acme", "status": "overdue", "amount_cents": "1200"},
		{"customer": "acme", "status": "paid", "amount_cents": "50"},
		{"customer": "globex", "status": "overdue", "amount_cents": "30"},
		{"customer": "acme", "status": "overdue", "amount_cents": "5"},
	},
	"customers": {
		{"customer": "acme", "plan": "pro"},
		{"customer": "globex", "plan": "free"},
		{"customer": "initech", "plan": "pro"},
	},
}

func TestOverdueCents(t *testing.T) {
	got, err := OverdueCents(warehouse.New(data))
	if want := map[string]int64{"acme": 1205, "globex": 30}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("OverdueCents = %v, %v", got, err)
	}
}

func TestCustomersByPlan(t *testing.T) {
	got, err := CustomersByPlan(warehouse.New(data))
	if want := map[string]int{"pro": 2, "free": 1}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("CustomersByPlan = %v, %v", got, err)
	}
}

func TestMissingDatasetIsAnError(t *testing.T) {
	if _, err := CustomersByPlan(warehouse.New(fixture{})); err == nil {
		t.Error("CustomersByPlan without a customers dataset succeeded")
	}
}
