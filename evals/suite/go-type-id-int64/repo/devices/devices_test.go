package devices

import (
	"reflect"
	"testing"
)

const rowsJSON = `[
  {"device_id": "17", "owner": "ops", "model": "r2"},
  {"device_id": "40001", "owner": "lab", "model": "r3"},
  {"device_id": "9", "owner": "ops", "model": "r2"}
]`

func TestDecodeAndIndex(t *testing.T) {
	rows, err := Decode([]byte(rowsJSON))
	if err != nil {
		t.Fatal(err)
	}
	index := ByID(rows)
	if index["40001"].Owner != "lab" {
		t.Errorf("index[40001] = %+v", index["40001"])
	}
	if got, want := Owners(index, []string{"17", "9", "5"}), []string{"ops"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Owners = %q, want %q", got, want)
	}
}

func TestFormatID(t *testing.T) {
	if got := FormatID(Device{ID: "17"}); got != "00000017" {
		t.Errorf("FormatID = %q", got)
	}
}
