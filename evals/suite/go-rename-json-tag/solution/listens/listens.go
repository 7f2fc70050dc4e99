// Package listens aggregates rows of the listens dataset (one JSON object per line).
package listens

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
)

// Listen is one row of the dataset.
type Listen struct {
	UserID  string `json:"account_id"`
	TrackID string `json:"track_id"`
	Seconds int    `json:"seconds"`
}

// Read decodes every line of r. Errors name the line.
func Read(r io.Reader) ([]Listen, error) {
	var rows []Listen
	scanner := bufio.NewScanner(r)
	for line := 1; scanner.Scan(); line++ {
		var row Listen
		if err := json.Unmarshal(scanner.Bytes(), &row); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		rows = append(rows, row)
	}
	return rows, scanner.Err()
}

// TotalSeconds is the listening time over all rows.
func TotalSeconds(rows []Listen) int {
	total := 0
	for _, row := range rows {
		total += row.Seconds
	}
	return total
}

// Listeners are the distinct listeners, sorted.
func Listeners(rows []Listen) []string {
	seen := map[string]bool{}
	for _, row := range rows {
		seen[row.UserID] = true
	}
	out := make([]string, 0, len(seen))
	for id := range seen {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}
