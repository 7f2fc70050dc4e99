package events

import (
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

var lake = fstest.MapFS{
	"lake/events/v2/dt=2026-12-01/part-0.jsonl": {Data: []byte(`{"kind": "login", "account": "z1"}
{"kind": "refund", "account": "z1"}
`)},
	"lake/events/v2/dt=2026-12-01/part-1.jsonl": {Data: []byte(`{"kind": "login", "account": "z2"}
`)},
	"lake/events/v2/dt=2026-12-02/part-0.jsonl": {Data: []byte("{\"kind\": \"login\"}\n{oops\n")},
	"warehouse/events/v1/2026-12-01.jsonl":     {Data: []byte(`{"kind": "stale", "account": "old"}` + "\n")},
}

func TestHiddenAllPartsOfADay(t *testing.T) {
	rows, err := LoadDay(lake, "2026-12-01")
	if err != nil {
		t.Fatal(err)
	}
	want := []Event{{"login", "z1"}, {"refund", "z1"}, {"login", "z2"}}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("LoadDay = %+v, want %+v", rows, want)
	}
	counts, err := CountKinds(lake, "2026-12-01")
	if want := map[string]int{"login": 2, "refund": 1}; err != nil || !reflect.DeepEqual(counts, want) {
		t.Errorf("CountKinds = %v, %v", counts, err)
	}
}

func TestHiddenMissingDayIsEmpty(t *testing.T) {
	rows, err := LoadDay(lake, "2026-12-09")
	if err != nil || len(rows) != 0 {
		t.Errorf("LoadDay = %v, %v", rows, err)
	}
}

func TestHiddenBadLineNamesThePart(t *testing.T) {
	_, err := LoadDay(lake, "2026-12-02")
	if err == nil || !strings.Contains(err.Error(), "dt=2026-12-02/part-0.jsonl:2") {
		t.Errorf("LoadDay error = %v", err)
	}
}
