package devices

import (
	"reflect"
	"testing"
)

func TestHiddenNumericIDs(t *testing.T) {
	rows, err := Decode([]byte(`[
  {"device_id": 9007199254740991, "owner": "edge", "model": "r9"},
  {"device_id": 3, "owner": "core", "model": "r1"},
  {"device_id": 12, "owner": "core", "model": "r1"}
]`))
	if err != nil {
		t.Fatal(err)
	}
	index := ByID(rows)
	var big int64 = 9007199254740991
	if index[big].Owner != "edge" {
		t.Errorf("index[%d] = %+v", big, index[big])
	}
	if got, want := Owners(index, []int64{3, 12, big, 4}), []string{"core", "edge"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Owners = %q, want %q", got, want)
	}
	if got := FormatID(rows[1]); got != "00000003" {
		t.Errorf("FormatID = %q, want 00000003", got)
	}
}

func TestHiddenStringIDIsAnError(t *testing.T) {
	if _, err := Decode([]byte(`[{"device_id": "17", "owner": "ops", "model": "r2"}]`)); err == nil {
		t.Error("Decode accepted a string device_id")
	}
}
