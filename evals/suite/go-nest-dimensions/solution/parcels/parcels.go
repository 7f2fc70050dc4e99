// Package parcels prices rows of the parcels dataset.
package parcels

import (
	"encoding/json"
	"fmt"
)

// Size is a parcel's dimensions.
type Size struct {
	WidthMM  int `json:"width_mm"`
	HeightMM int `json:"height_mm"`
	DepthMM  int `json:"depth_mm"`
}

// Parcel is one row of the dataset.
type Parcel struct {
	ID      string `json:"parcel_id"`
	WeightG int    `json:"weight_g"`
	Size    Size   `json:"size"`
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
	return p.Size.WidthMM * p.Size.HeightMM * p.Size.DepthMM / 1000 / 5
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
	return p.Size.WidthMM <= 250 && p.Size.HeightMM <= 350 && p.Size.DepthMM <= 30
}
