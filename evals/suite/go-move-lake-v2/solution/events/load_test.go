package events

import (
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

var mount = fstest.MapFS{
	"lake/events/v2/dt=2026-11-23/part-0.jsonl": {Data: []byte(`{"kind": "login", "account": "a1"}
{"kind": "purchase", "account": "a1"}
`)},
	"lake/events/v2/dt=2026-11-23/part-1.jsonl": {Data: []byte(`{"kind": "login", "account": "a2"}
`)},
	"lake/events/v2/dt=2026-11-24/part-0.jsonl": {Data: []byte("{\"kind\": \"login\"}\nbroken\n")},
}

func TestCountKinds(t *testing.T) {
	got, err := CountKinds(mount, "2026-11-23")
	if want := map[string]int{"login": 2, "purchase": 1}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("CountKinds = %v, %v", got, err)
	}
}

func TestMissingDayIsEmpty(t *testing.T) {
	rows, err := LoadDay(mount, "2026-11-01")
	if err != nil || len(rows) != 0 {
		t.Errorf("LoadDay = %v, %v", rows, err)
	}
}

func TestBadLineNamed(t *testing.T) {
	_, err := LoadDay(mount, "2026-11-24")
	if err == nil || !strings.Contains(err.Error(), ":2:") {
		t.Errorf("LoadDay error = %v", err)
	}
}
