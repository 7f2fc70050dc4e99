package builds

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestHiddenDurationAcrossOffsets(t *testing.T) {
	d, err := Duration(Build{ID: "c1", Started: "2026-03-29T01:50:00+01:00", Finished: "2026-03-29T03:05:00+02:00"})
	if err != nil || d != 15*time.Minute {
		t.Errorf("Duration = %v, %v; want 15m", d, err)
	}
}

func TestHiddenPerUTCDay(t *testing.T) {
	got, err := PerDay([]Build{
		{ID: "c2", Started: "2026-11-23T00:30:00+01:00", Finished: "2026-11-23T00:40:00+01:00"},
		{ID: "c3", Started: "2026-11-23T09:00:00Z", Finished: "2026-11-23T09:01:00Z"},
		{ID: "c4", Started: "2026-11-22T20:00:00-05:00", Finished: "2026-11-22T20:30:00-05:00"},
	})
	want := map[string]int{"2026-11-22": 1, "2026-11-23": 2}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("PerDay = %v, %v; want %v", got, err, want)
	}
}

func TestHiddenOldFormatRejected(t *testing.T) {
	_, err := ParseTime("2026-11-23 10:00:00")
	if err == nil || !strings.Contains(err.Error(), "2026-11-23 10:00:00") {
		t.Errorf("ParseTime(old format) error = %v", err)
	}
}
