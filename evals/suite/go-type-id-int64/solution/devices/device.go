// Package devices reads the devices dataset (a JSON array of rows).
package devices

import (
	"encoding/json"
	"fmt"
)

// Device is one row of the dataset.
type Device struct {
	ID    int64  `json:"device_id"`
	Owner string `json:"owner"`
	Model string `json:"model"`
}

// Decode parses a JSON array of device rows.
func Decode(data []byte) ([]Device, error) {
	var rows []Device
	if err := json.Unmarshal(data, &rows); err != nil {
		return nil, fmt.Errorf("decoding devices: %w", err)
	}
	return rows, nil
}

// FormatID is the id as printed on labels: zero-padded to 8 digits.
func FormatID(d Device) string {
	return fmt.Sprintf("%08d", d.ID)
}
