// Package parcels prices rows of the parcels dataset.
package parcels

import (
	"encoding/json"
	"fmt"
)

// Parcel is one row of the dataset.
type Parcel struct {
	ID       string `json:"parcel_id"`
	WeightG  int    `json:"weight_g"`
	WidthMM  int    `json:"width_mm"`
	HeightMM int    `json:"height_mm"`
	DepthMM  int    `json:"depth_mm"`
}

// Decode parses one row.
func Decode(data []byte) (Parcel, error) {
	var p Parcel
	if err := json.Unmarshal(data, &p); err != nil {
		return Parcel{}, fmt.Errorf("decoding parcel: %w", err)
	}
	return p, nil
}

// VolumetricWeightG is the billed weight of the parcel's volume: cm³ / 5 grams.
func VolumetricWeightG(p Parcel) int {
	return p.WidthMM * p.HeightMM * p.DepthMM / 1000 / 5
}

// BilledWeightG is the larger of the real and the volumetric weight.
func BilledWeightG(p Parcel) int {
	if v := VolumetricWeightG(p); v > p.WeightG {
		return v
	}
	return p.WeightG
}

// FitsLetterbox says whether the parcel fits a 250 × 350 × 30 mm letterbox slot.
func FitsLetterbox(p Parcel) bool {
	return p.WidthMM <= 250 && p.HeightMM <= 350 && p.DepthMM <= 30
}
