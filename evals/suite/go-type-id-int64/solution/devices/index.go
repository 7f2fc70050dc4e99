package devices

import "sort"

// ByID indexes devices by id; a later row with the same id wins.
func ByID(rows []Device) map[int64]Device {
	index := make(map[int64]Device, len(rows))
	for _, d := range rows {
		index[d.ID] = d
	}
	return index
}

// Owners of the given device ids that exist in the index, sorted and distinct.
func Owners(index map[int64]Device, ids []int64) []string {
	seen := map[string]bool{}
	var owners []string
	for _, id := range ids {
		if d, ok := index[id]; ok && !seen[d.Owner] {
			seen[d.Owner] = true
			owners = append(owners, d.Owner)
		}
	}
	sort.Strings(owners)
	return owners
}
