package listens

import (
	"reflect"
	"strings"
	"testing"
)

func TestHiddenListenersReadAccountID(t *testing.T) {
	rows, err := Read(strings.NewReader(`{"account_id": "a9", "track_id": "t1", "seconds": 30}
{"account_id": "a1", "track_id": "t2", "seconds": 12}
{"account_id": "a9", "track_id": "t3", "seconds": 5}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := Listeners(rows), []string{"a1", "a9"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Listeners = %q, want %q", got, want)
	}
}
