package listens

import (
	"strings"
	"testing"
)

func TestTotalSeconds(t *testing.T) {
	rows, err := Read(strings.NewReader(`{"track_id": "t1", "seconds": 30}
{"track_id": "t2", "seconds": 12}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := TotalSeconds(rows); got != 42 {
		t.Errorf("TotalSeconds = %d, want 42", got)
	}
}

func TestReadNamesTheBadLine(t *testing.T) {
	_, err := Read(strings.NewReader("{\"seconds\": 1}\nnot json\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("Read error = %v, want one naming line 2", err)
	}
}
