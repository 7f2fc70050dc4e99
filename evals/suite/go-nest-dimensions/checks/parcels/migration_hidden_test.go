package parcels

import "testing"

func TestHiddenNestedSize(t *testing.T) {
	p, err := Decode([]byte(`{"parcel_id": "Q1", "weight_g": 100, "size": {"width_mm": 400, "height_mm": 300, "depth_mm": 250}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := VolumetricWeightG(p); got != 6000 {
		t.Errorf("VolumetricWeightG = %d, want 6000", got)
	}
	if got := BilledWeightG(p); got != 6000 {
		t.Errorf("BilledWeightG = %d, want 6000", got)
	}
	if FitsLetterbox(p) {
		t.Error("a 400 mm wide parcel fits the letterbox")
	}
}

func TestHiddenLetterboxFromNestedSize(t *testing.T) {
	p, err := Decode([]byte(`{"parcel_id": "Q2", "weight_g": 50, "size": {"width_mm": 240, "height_mm": 160, "depth_mm": 30}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !FitsLetterbox(p) || BilledWeightG(p) != 230 {
		t.Errorf("FitsLetterbox = %v, BilledWeightG = %d for %+v", FitsLetterbox(p), BilledWeightG(p), p)
	}
}
