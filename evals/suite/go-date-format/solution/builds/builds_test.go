package builds

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDuration(t *testing.T) {
	d, err := Duration(Build{ID: "b1", Started: "2026-11-23T10:00:00Z", Finished: "2026-11-23T10:12:30Z"})
	if err != nil || d != 12*time.Minute+30*time.Second {
		t.Errorf("Duration = %v, %v", d, err)
	}
}

func TestPerDay(t *testing.T) {
	got, err := PerDay([]Build{
		{ID: "b1", Started: "2026-11-22T23:59:00Z", Finished: "2026-11-23T00:10:00Z"},
		{ID: "b2", Started: "2026-11-23T08:00:00Z", Finished: "2026-11-23T08:05:00Z"},
	})
	want := map[string]int{"2026-11-22": 1, "2026-11-23": 1}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("PerDay = %v, %v", got, err)
	}
}

func TestBadTimestampNamed(t *testing.T) {
	_, err := ParseTime("soon")
	if err == nil || !strings.Contains(err.Error(), `"soon"`) {
		t.Errorf("ParseTime error = %v", err)
	}
}
