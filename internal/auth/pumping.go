package auth

import (
	"context"
	"time"
)

// This file holds the SMS-pumping guard. SMS pumping (toll fraud) asks an
// auth service for codes to numbers whose carrier pays the attacker per
// message; nobody ever types those codes in. So the guard compares, per
// number prefix and per country calling code, the codes sent with the
// codes verified over a sliding window: when the conversion collapses
// under volume the subject is throttled, then blocked. The store counts a
// code when it is created and when it is consumed, on the statements that
// do so (migration 0007), so the guard costs one statement per SMS send
// (the judgement) and none per verification.

// GuardState is an SMS guard's state for one subject.
type GuardState string

// Guard states.
const (
	GuardOK        GuardState = "ok"
	GuardThrottled GuardState = "throttled" // one send per PumpingConfig.ThrottleEvery
	GuardBlocked   GuardState = "blocked"   // no send until BlockFor passes or an operator lifts it
)

// Guard subject kinds.
const (
	GuardPrefix  = "prefix"  // a number prefix, "+447700"
	GuardCountry = "country" // a country calling code, "+44"
)

// PumpingThresholds say when a subject's conversion has collapsed: with
// at least ThrottleMinSends codes sent in the window and fewer than
// ThrottleBelow of them (a fraction, 0..1) verified, it is throttled; with
// at least BlockMinSends sent and fewer than BlockBelow verified, blocked.
// A MinSends of -1 turns that step off. A subject is always throttled
// before it is blocked, unless throttling is off.
type PumpingThresholds struct {
	ThrottleMinSends int     `json:"throttle_min_sends,omitempty"`
	ThrottleBelow    float64 `json:"throttle_below,omitempty"`
	BlockMinSends    int     `json:"block_min_sends,omitempty"`
	BlockBelow       float64 `json:"block_below,omitempty"`
}

// PumpingSettings are a project's own SMS-pumping thresholds
// (Settings.Pumping). Every field is optional: an unset one (null, or 0
// in a threshold) follows the service-wide PumpingConfig, which the api
// fills from the environment. The window, settle time, throttle pace and
// block length stay service-wide.
type PumpingSettings struct {
	// Off turns the guard off for the project (true) or on (false) when
	// the service has it on. Null: the service's setting.
	Off *bool `json:"off,omitempty"`
	// Prefix and Country override the thresholds field by field; a
	// MinSends of -1 turns that step off.
	Prefix  *PumpingThresholds `json:"prefix,omitempty"`
	Country *PumpingThresholds `json:"country,omitempty"`
}

// maxPumpingMinSends bounds a threshold's MinSends.
const maxPumpingMinSends = 1_000_000

// check validates project pumping settings, naming the field.
func (ps *PumpingSettings) check() error {
	if ps == nil {
		return nil
	}
	for name, t := range map[string]*PumpingThresholds{"sms_pumping.prefix": ps.Prefix, "sms_pumping.country": ps.Country} {
		if t == nil {
			continue
		}
		for field, n := range map[string]int{"throttle_min_sends": t.ThrottleMinSends, "block_min_sends": t.BlockMinSends} {
			if n < -1 || n > maxPumpingMinSends {
				return Invalid(name+"."+field, "%s.%s must be -1 (off), 0 (the server default) or 1 to %d.", name, field, maxPumpingMinSends)
			}
		}
		for field, f := range map[string]float64{"throttle_below": t.ThrottleBelow, "block_below": t.BlockBelow} {
			if f < 0 || f > 1 {
				return Invalid(name+"."+field, "%s.%s must be a fraction between 0 and 1 (0 follows the server default).", name, field)
			}
		}
	}
	return nil
}

// over returns t with each field d sets (non-zero) replaced.
func (t PumpingThresholds) over(d *PumpingThresholds) PumpingThresholds {
	if d == nil {
		return t
	}
	if d.ThrottleMinSends != 0 {
		t.ThrottleMinSends = d.ThrottleMinSends
	}
	if d.ThrottleBelow > 0 {
		t.ThrottleBelow = d.ThrottleBelow
	}
	if d.BlockMinSends != 0 {
		t.BlockMinSends = d.BlockMinSends
	}
	if d.BlockBelow > 0 {
		t.BlockBelow = d.BlockBelow
	}
	return t
}

// pumpingConfig returns the guard's configuration for project p: the
// service-wide PumpingConfig with the project's own settings over it
// (from the in-process settings cache).
func (s *Service) pumpingConfig(ctx context.Context, p *Project) PumpingConfig {
	g := s.cfg.Abuse.Pumping
	ps := s.projectState(ctx, p.ID).settings.Pumping
	if ps == nil {
		return g
	}
	if ps.Off != nil {
		g.Off = *ps.Off
	}
	g.Prefix, g.Country = g.Prefix.over(ps.Prefix), g.Country.over(ps.Country)
	return g
}

// PumpingConfig configures the SMS-pumping guard. Zero fields take their
// documented defaults.
type PumpingConfig struct {
	// Off turns the guard off. Default false.
	Off bool
	// Window is the sliding window of the counts, in one-minute buckets
	// (1m..24h). Default 1h.
	Window time.Duration
	// Prefix applies to each number prefix (AbuseConfig.PrefixDigits).
	// Default: throttle at ≥ 20 sends with < 30 % verified, block at
	// ≥ 30 sends with < 10 % verified.
	Prefix PumpingThresholds
	// Country applies to each country calling code. Default: throttle at
	// ≥ 200 sends with < 20 % verified, block at ≥ 500 sends with < 5 %.
	Country PumpingThresholds
	// Settle is how old a send must be before it is judged: a code just
	// sent may still be typed in. Sends are counted in one-minute buckets,
	// so a send is judged once Settle to Settle+1m old. Default 30s; -1
	// judges every send at once.
	Settle time.Duration
	// ThrottleEvery is how often a throttled subject may be sent a code.
	// Default 1m.
	ThrottleEvery time.Duration
	// BlockFor is how long a block lasts unless lifted. Default 24h.
	BlockFor time.Duration
}

func (c PumpingConfig) withDefaults() PumpingConfig {
	if c.Window <= 0 {
		c.Window = time.Hour
	}
	c.Window = min(max(c.Window, time.Minute), 24*time.Hour)
	c.Prefix = c.Prefix.withDefaults(PumpingThresholds{ThrottleMinSends: 20, ThrottleBelow: 0.30, BlockMinSends: 30, BlockBelow: 0.10})
	c.Country = c.Country.withDefaults(PumpingThresholds{ThrottleMinSends: 200, ThrottleBelow: 0.20, BlockMinSends: 500, BlockBelow: 0.05})
	if c.ThrottleEvery <= 0 {
		c.ThrottleEvery = time.Minute
	}
	if c.Settle == 0 {
		c.Settle = 30 * time.Second
	}
	c.Settle = max(c.Settle, 0)
	if c.BlockFor <= 0 {
		c.BlockFor = 24 * time.Hour
	}
	return c
}

func (t PumpingThresholds) withDefaults(d PumpingThresholds) PumpingThresholds {
	if t.ThrottleMinSends == 0 {
		t.ThrottleMinSends = d.ThrottleMinSends
	}
	if t.ThrottleBelow <= 0 {
		t.ThrottleBelow = d.ThrottleBelow
	}
	if t.BlockMinSends == 0 {
		t.BlockMinSends = d.BlockMinSends
	}
	if t.BlockBelow <= 0 {
		t.BlockBelow = d.BlockBelow
	}
	return t
}

// PumpingMetrics is implemented by a Metrics that counts the guard's
// decisions (internal/metrics does); others are left alone.
type PumpingMetrics interface {
	// PumpingDecision counts a subject's state change by kind ("prefix",
	// "country") and new state ("ok", "throttled", "blocked", "lifted").
	PumpingDecision(kind, state string)
	// PumpingRefused counts a send refused by the guard, by the refusing
	// subject's kind and state.
	PumpingRefused(kind, state string)
}

func (s *Service) pumpingMetrics() PumpingMetrics {
	if m, ok := s.metrics.(PumpingMetrics); ok {
		return m
	}
	return nopPumpingMetrics{}
}

type nopPumpingMetrics struct{}

func (nopPumpingMetrics) PumpingDecision(string, string) {}
func (nopPumpingMetrics) PumpingRefused(string, string)  {}

// GuardSubject is one subject a send is judged on.
type GuardSubject struct {
	Kind       string // GuardPrefix or GuardCountry
	Subject    string // "+447700" or "+44"
	Thresholds PumpingThresholds
}

// GuardVerdict is the guard's judgement of one subject for one send.
type GuardVerdict struct {
	Kind, Subject string
	Before, After GuardState
	// Sent and Verified are the window's counts before this send.
	Sent, Verified int
	// Refused: this subject refused the send, for RetryAfter.
	Refused    bool
	RetryAfter time.Duration
}

// SMSGuard is the guard's record of one subject, for operators.
type SMSGuard struct {
	Kind, Subject string
	Region        string // ISO 3166 region of the first number seen
	State         GuardState
	// Sent and Verified are counted over the window, since Since.
	Sent, Verified int
	Since          time.Time
	ChangedAt      *time.Time
	BlockedUntil   *time.Time
	LiftedAt       *time.Time
	UpdatedAt      time.Time
}

// GuardFilter selects guard records.
type GuardFilter struct {
	// All lists every subject with a record; default only throttled and
	// blocked ones.
	All   bool
	Limit int // 1..1000; 0 means 100
}

// PumpingStore keeps the SMS traffic counts and the guard's decisions,
// shared by every api replica.
type PumpingStore interface {
	// JudgeSMSSend judges one SMS send at the store's clock against each
	// subject, in one statement: it updates each subject's state from its
	// counts in the window and says whether a subject refuses the send.
	// The store counts an SMS or WhatsApp code as sent when it is created
	// and as verified when it is consumed, for the subjects judged before.
	JudgeSMSSend(ctx context.Context, projectID, region string, subjects []GuardSubject, cfg PumpingConfig) ([]GuardVerdict, error)
	// ListSMSGuards returns the project's guard records with their counts
	// over window: blocked first, then throttled, then by sends.
	ListSMSGuards(ctx context.Context, projectID string, window time.Duration, f GuardFilter) ([]*SMSGuard, error)
	// LiftSMSGuard sets a subject back to ok and restarts its evidence at
	// the next minute (earlier sends no longer count). ENotFound if it has
	// no record.
	LiftSMSGuard(ctx context.Context, projectID, kind, subject string, window time.Duration) (*SMSGuard, error)
}

// checkPumping judges an SMS send to number (country calling code cc,
// prefix prefix) with the pumping guard, under the project's thresholds
// (pumpingConfig): ERateLimited with RetryAfter when the prefix or the
// country is throttled or blocked. Every state change is logged (the
// prefix only, never the number) and counted.
func (s *Service) checkPumping(ctx context.Context, p *Project, number, cc, prefix string) error {
	g := s.pumpingConfig(ctx, p)
	subjects := guardSubjects(g, cc, prefix)
	if len(subjects) == 0 {
		return nil
	}
	verdicts, err := s.store.JudgeSMSSend(ctx, p.ID, PhoneRegion(number), subjects, g)
	if err != nil {
		return err
	}
	return s.judged(p, g, verdicts)
}

// guardSubjects returns the subjects the guard g judges a send on: the
// number's prefix and calling code (none when g is off).
func guardSubjects(g PumpingConfig, cc, prefix string) []GuardSubject {
	if g.Off {
		return nil
	}
	subjects := make([]GuardSubject, 0, 2)
	if prefix != "" {
		subjects = append(subjects, GuardSubject{Kind: GuardPrefix, Subject: prefix, Thresholds: g.Prefix})
	}
	if cc != "" {
		subjects = append(subjects, GuardSubject{Kind: GuardCountry, Subject: cc, Thresholds: g.Country})
	}
	return subjects
}

// judged logs and counts the guard's state changes in verdicts and
// returns ERateLimited with RetryAfter when a subject refused the send.
func (s *Service) judged(p *Project, g PumpingConfig, verdicts []GuardVerdict) error {
	var refused *GuardVerdict
	for i := range verdicts {
		v := &verdicts[i]
		if v.After != v.Before {
			s.log.Warn("sms pumping guard: state changed", "project_id", p.ID, "kind", v.Kind, "subject", v.Subject,
				"from", string(v.Before), "to", string(v.After), "sent", v.Sent, "verified", v.Verified, "window", g.Window.String())
			s.pumpingMetrics().PumpingDecision(v.Kind, string(v.After))
		}
		if v.Refused && (refused == nil || v.RetryAfter > refused.RetryAfter) {
			refused = v
		}
	}
	if refused != nil {
		s.pumpingMetrics().PumpingRefused(refused.Kind, string(refused.After))
		return rateLimited(refused.RetryAfter)
	}
	return nil
}

// ListSMSGuards returns the project's SMS guard records (throttled and
// blocked subjects, or all with f.All) with their counts over the window.
// Returns EInvalid.
func (s *Service) ListSMSGuards(ctx context.Context, p *Project, f GuardFilter) ([]*SMSGuard, error) {
	if f.Limit == 0 {
		f.Limit = 100
	}
	if f.Limit < 1 || f.Limit > 1000 {
		return nil, Invalid("limit", "limit must be between 1 and 1000.")
	}
	return s.store.ListSMSGuards(ctx, p.ID, s.cfg.Abuse.Pumping.Window, f)
}

// LiftSMSGuard sets a throttled or blocked subject of the project back to
// ok; its evidence restarts now, so it is judged again on new sends only.
// Returns EInvalid (kind or subject malformed) and ENotFound.
func (s *Service) LiftSMSGuard(ctx context.Context, p *Project, kind, subject string) (*SMSGuard, error) {
	if kind != GuardPrefix && kind != GuardCountry {
		return nil, Invalid("kind", `kind must be "prefix" or "country".`)
	}
	if len(subject) < 2 || len(subject) > 11 || subject[0] != '+' || !allDigits(subject[1:]) {
		return nil, Invalid("subject", `subject must be "+" and 1 to 10 digits, such as +447700 or +44.`)
	}
	g, err := s.store.LiftSMSGuard(ctx, p.ID, kind, subject, s.cfg.Abuse.Pumping.Window)
	if err != nil {
		return nil, err
	}
	s.log.Warn("sms pumping guard: lifted by operator", "project_id", p.ID, "kind", kind, "subject", subject)
	s.pumpingMetrics().PumpingDecision(kind, "lifted")
	return g, nil
}
