// Package events reads the events dataset from the storage mount.
package events

import "path"

// root is where the dataset lives on the storage mount.
const root = "lake/events/v2"

// dayParts is the glob of the part files holding one day's rows ("2026-11-23").
func dayParts(day string) string {
	return path.Join(root, "dt="+day, "part-*.jsonl")
}
