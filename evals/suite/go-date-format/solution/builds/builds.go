// Package builds computes figures over rows of the builds dataset.
package builds

import (
	"fmt"
	"time"
)

// Build is one row; Started and Finished are RFC 3339 timestamps with an offset.
type Build struct {
	ID       string
	Started  string
	Finished string
}

// ParseTime parses a builds timestamp.
func ParseTime(value string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, value)
	if err != nil {
		return time.Time{}, fmt.Errorf("builds timestamp %q: %w", value, err)
	}
	return t, nil
}

// Duration is how long the build ran.
func Duration(b Build) (time.Duration, error) {
	start, err := ParseTime(b.Started)
	if err != nil {
		return 0, err
	}
	end, err := ParseTime(b.Finished)
	if err != nil {
		return 0, err
	}
	return end.Sub(start), nil
}

// PerDay counts builds by the UTC day they started on.
func PerDay(builds []Build) (map[string]int, error) {
	days := map[string]int{}
	for _, b := range builds {
		start, err := ParseTime(b.Started)
		if err != nil {
			return nil, err
		}
		days[start.UTC().Format("2006-01-02")]++
	}
	return days, nil
}
