package auth

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/nyaruka/phonenumbers"
)

// A send to a phone number used to parse it with libphonenumber up to four
// times (NormalizePhone, then CallingCode for the limits, PhoneRegion for
// the SMS-pumping guard, the allowed countries and the by-country metric);
// the region lookup runs the number against every region of its calling
// code with regular expressions, about a tenth of the api's CPU per send.
// NormalizePhone computes the region and calling code once and keeps them
// here, by normalized number, for the calls that follow (and a verify of
// the same number later). The values are functions of the key, so a stale
// entry cannot exist; the map is emptied when it reaches phoneCacheMax
// entries (a few MB), so its memory stays bounded whatever the traffic.
const phoneCacheMax = 1 << 16

// phoneFacts is what libphonenumber says about a normalized number.
type phoneFacts struct {
	region      string // ISO 3166 region, "" if unknown
	callingCode string // "+44", "" if none
}

var phoneCache struct {
	m sync.Map // E.164 → phoneFacts
	n atomic.Int64
}

func rememberPhone(e164 string, f phoneFacts) {
	if phoneCache.n.Add(1) > phoneCacheMax {
		phoneCache.m.Clear()
		phoneCache.n.Store(1)
	}
	phoneCache.m.Store(e164, f)
}

// factsOf returns the region and calling code of an E.164 number, from the
// cache or by parsing it (then cached). ok is false if it does not parse.
func factsOf(e164 string) (phoneFacts, bool) {
	if v, ok := phoneCache.m.Load(e164); ok {
		return v.(phoneFacts), true
	}
	n, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return phoneFacts{}, false
	}
	f := factsOfParsed(n, phonenumbers.GetRegionCodeForNumber(n))
	rememberPhone(e164, f)
	return f, true
}

func factsOfParsed(n *phonenumbers.PhoneNumber, region string) phoneFacts {
	f := phoneFacts{region: region}
	if cc := n.GetCountryCode(); cc != 0 {
		f.callingCode = "+" + strconv.Itoa(int(cc))
	}
	return f
}
