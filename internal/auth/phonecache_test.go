package auth_test

import (
	"testing"

	"github.com/sesame-auth/sesame/internal/auth"
)

// TestPhoneFacts_SameBeforeAndAfterNormalizing: the region and calling code
// of a number are the same whether they are looked up cold (parsed) or
// after NormalizePhone remembered them, for numbers of a shared calling code
// (+1: US, CA, a Caribbean region), a non-geographic one and an invalid one.
func TestPhoneFacts_SameBeforeAndAfterNormalizing(t *testing.T) {
	tests := []struct {
		name, input, e164, region, cc string
		invalid                       bool
	}{
		{"OKUnitedStates", "+1 (415) 555-0100", "+14155550100", "US", "+1", false},
		{"OKCanada", "+1 604 555 0100", "+16045550100", "CA", "+1", false},
		{"OKJamaica", "+1 876 555 0100", "+18765550100", "JM", "+1", false},
		{"OKUnitedKingdom", "+44 7400 901234", "+447400901234", "GB", "+44", false},
		{"OKNonGeographic", "+800 1234 5678", "+80012345678", "001", "+800", false},
		{"InvalidNumberKeepsItsCallingCode", "+1234", "+1234", "", "+1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			coldRegion, coldCC := auth.PhoneRegion(tt.e164), auth.CallingCode(tt.e164)
			got, err := auth.NormalizePhone(tt.input)
			if tt.invalid {
				if err == nil {
					t.Fatalf("NormalizePhone(%q) = %q, want an error", tt.input, got)
				}
			} else if err != nil || got != tt.e164 {
				t.Fatalf("NormalizePhone(%q) = %q, %v; want %q", tt.input, got, err, tt.e164)
			}
			warmRegion, warmCC := auth.PhoneRegion(tt.e164), auth.CallingCode(tt.e164)
			if coldRegion != tt.region || warmRegion != tt.region || coldCC != tt.cc || warmCC != tt.cc {
				t.Fatalf("region cold %q warm %q, calling code cold %q warm %q; want %q %q",
					coldRegion, warmRegion, coldCC, warmCC, tt.region, tt.cc)
			}
		})
	}
}
