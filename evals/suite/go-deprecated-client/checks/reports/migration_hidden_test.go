package reports

import (
	"reflect"
	"sort"
	"testing"

	"example.com/billing/warehouse"
)

// recording serves datasets and remembers which were read.
type recording struct {
	fixture
	read []string
}

func (r *recording) Rows(dataset string) ([]warehouse.Row, error) {
	r.read = append(r.read, dataset)
	return r.fixture.Rows(dataset)
}

var hiddenData = fixture{
	"invoices": {
		{"customer": "umbrella", "status": "overdue", "amount_cents": "999", "memo": "q3"},
		{"customer": "umbrella", "status": "overdue", "amount_cents": "1", "memo": ""},
		{"customer": "hooli", "status": "draft", "amount_cents": "70", "memo": ""},
	},
	"customers": {
		{"customer": "umbrella", "plan": "enterprise", "email": "ap@umbrella.example"},
		{"customer": "hooli", "plan": "enterprise", "email": "ap@hooli.example"},
	},
}

func TestHiddenReportsThroughScan(t *testing.T) {
	source := &recording{fixture: hiddenData}
	client := warehouse.New(source)
	overdue, err := OverdueCents(client)
	if want := map[string]int64{"umbrella": 1000}; err != nil || !reflect.DeepEqual(overdue, want) {
		t.Errorf("OverdueCents = %v, %v; want %v", overdue, err, want)
	}
	plans, err := CustomersByPlan(client)
	if want := map[string]int{"enterprise": 2}; err != nil || !reflect.DeepEqual(plans, want) {
		t.Errorf("CustomersByPlan = %v, %v; want %v", plans, err, want)
	}
	sort.Strings(source.read)
	if want := []string{"customers", "invoices"}; !reflect.DeepEqual(source.read, want) {
		t.Errorf("datasets read = %q, want %q", source.read, want)
	}
}

func TestHiddenClientErrorsAreReturned(t *testing.T) {
	if _, err := OverdueCents(warehouse.New(fixture{})); err == nil {
		t.Error("OverdueCents without an invoices dataset succeeded")
	}
}
