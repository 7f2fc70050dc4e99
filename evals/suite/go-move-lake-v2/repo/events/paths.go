// Package events reads the events dataset from the storage mount.
package events

import "path"

// root is where the dataset lives on the storage mount.
const root = "warehouse/events/v1"

// dayFile is the file holding one day's rows ("2026-11-23").
func dayFile(day string) string {
	return path.Join(root, day+".jsonl")
}
