package builds

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDuration(t *testing.T) {
	d, err := Duration(Build{ID: "b1", Started: "2026-11-23 10:00:00", Finished: "2026-11-23 10:12:30"})
	if err != nil || d != 12*time.Minute+30*time.Second {
		t.Errorf("Duration = %v, %v", d, err)
	}
}

func TestPerDay(t *testing.T) {
	got, err := PerDay([]Build{
		{ID: "b1", Started: "2026-11-22 23:59:00", Finished: "2026-11-23 00:10:00"},
		{ID: "b2", Started: "2026-11-23 08:00:00", Finished: "2026-11-23 08:05:00"},
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
