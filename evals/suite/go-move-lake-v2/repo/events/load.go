package events

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
)

// Event is one row.
type Event struct {
	Kind    string `json:"kind"`
	Account string `json:"account"`
}

// LoadDay reads one day's rows; a day without data has none.
func LoadDay(fsys fs.FS, day string) ([]Event, error) {
	name := dayFile(day)
	f, err := fsys.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows []Event
	scanner := bufio.NewScanner(f)
	for line := 1; scanner.Scan(); line++ {
		var e Event
		if err := json.Unmarshal(scanner.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		rows = append(rows, e)
	}
	return rows, scanner.Err()
}

// CountKinds counts a day's events by kind.
func CountKinds(fsys fs.FS, day string) (map[string]int, error) {
	rows, err := LoadDay(fsys, day)
	if err != nil {
		return nil, err
	}
	counts := map[string]int{}
	for _, e := range rows {
		counts[e.Kind]++
	}
	return counts, nil
}
