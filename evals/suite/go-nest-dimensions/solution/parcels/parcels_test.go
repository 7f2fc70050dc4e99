package parcels

import "testing"

func TestBilledWeight(t *testing.T) {
	p, err := Decode([]byte(`{"parcel_id": "P1", "weight_g": 900, "size": {"width_mm": 300, "height_mm": 200, "depth_mm": 100}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := BilledWeightG(p); got != 1200 {
		t.Errorf("BilledWeightG = %d, want 1200", got)
	}
}

func TestLetterbox(t *testing.T) {
	p, err := Decode([]byte(`{"parcel_id": "P2", "weight_g": 80, "size": {"width_mm": 220, "height_mm": 110, "depth_mm": 20}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !FitsLetterbox(p) {
		t.Errorf("FitsLetterbox(%+v) = false", p)
	}
}
