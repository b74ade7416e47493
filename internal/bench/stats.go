package bench

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Sample is one timed run of one row in one round.
type Sample struct {
	// Requests is the number of answered requests (or delivered messages).
	Requests int
	// Errors counts answers with an unexpected status and transport errors.
	Errors int
	// Elapsed is the wall time of the run.
	Elapsed time.Duration
	// Rate is successful requests (or messages) per second.
	Rate float64
	// P50, P99 and P999 are latency percentiles of every answered request.
	P50, P99, P999 time.Duration
	// CPU is CPU milliseconds per successful request, by process name
	// (ProcAPI, ProcLimit, ProcPostgres, ProcNATS, ProcWorker, ProcLoad).
	CPU map[string]float64
	// Note says what made the run short or odd ("" normally).
	Note string
	// Prepared is the untimed time spent making the run's fixtures.
	Prepared time.Duration
}

// Process names in Sample.CPU.
const (
	ProcAPI      = "api"
	ProcLimit    = "limit"
	ProcPostgres = "postgres"
	ProcNATS     = "nats"
	ProcWorker   = "worker"
	ProcLoad     = "load"
)

// Percentile returns the q-quantile (0 < q ≤ 1) of sorted by the nearest
// rank method: the smallest value with at least q of the values at or
// below it. 0 for no values.
func Percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(q*float64(len(sorted))+0.999999999) - 1
	return sorted[max(0, min(rank, len(sorted)-1))]
}

// Summarize fills the rate and percentiles of a run from its latencies
// (any order; sorted in place), its count of failures and its wall time.
func Summarize(latencies []time.Duration, errors int, elapsed time.Duration) Sample {
	slices.Sort(latencies)
	s := Sample{Requests: len(latencies), Errors: errors, Elapsed: elapsed,
		P50: Percentile(latencies, 0.50), P99: Percentile(latencies, 0.99), P999: Percentile(latencies, 0.999)}
	if elapsed > 0 {
		s.Rate = float64(len(latencies)-errors) / elapsed.Seconds()
	}
	return s
}

// Median of xs (the mean of the middle two for an even count); 0 for none.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

// Spread is the smallest and largest of xs.
func Spread(xs []float64) (lo, hi float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	return slices.Min(xs), slices.Max(xs)
}

// Ratios divides each round's rate by the reference's rate of the same
// round (rounds without a reference, or with a zero one, are skipped).
func Ratios(ours, ref []Sample) []float64 {
	var out []float64
	for i := range min(len(ours), len(ref)) {
		if ref[i].Rate > 0 {
			out = append(out, ours[i].Rate/ref[i].Rate)
		}
	}
	return out
}

// Line is one printed row: the median over rounds of each figure, and the
// spread of the ratio and the rate.
type Line struct {
	Name                   string
	Conc                   string  // "c=32", "1000/s", …
	Ratio, RatioLo, RatioH float64 // 0 when the row has no reference
	Rate, RateLo, RateHi   float64
	P50, P99, P999         time.Duration
	Errors, Requests       int
	CPU                    map[string]float64
	Notes                  []string
}

// Aggregate folds the rounds of one row into a Line; ref (may be nil) is
// the limit server's samples of the same rounds.
func Aggregate(name, conc string, ours, ref []Sample) Line {
	l := Line{Name: name, Conc: conc, CPU: map[string]float64{}}
	var rates, p50, p99, p999 []float64
	cpu := map[string][]float64{}
	for _, s := range ours {
		rates = append(rates, s.Rate)
		p50 = append(p50, float64(s.P50))
		p99 = append(p99, float64(s.P99))
		p999 = append(p999, float64(s.P999))
		l.Errors += s.Errors
		l.Requests += s.Requests
		for k, v := range s.CPU {
			cpu[k] = append(cpu[k], v)
		}
		if s.Note != "" && !slices.Contains(l.Notes, s.Note) {
			l.Notes = append(l.Notes, s.Note)
		}
	}
	l.Rate = Median(rates)
	l.RateLo, l.RateHi = Spread(rates)
	l.P50, l.P99, l.P999 = time.Duration(Median(p50)), time.Duration(Median(p99)), time.Duration(Median(p999))
	for k, v := range cpu {
		l.CPU[k] = Median(v)
	}
	if r := Ratios(ours, ref); len(r) > 0 {
		l.Ratio = Median(r)
		l.RatioLo, l.RatioH = Spread(r)
	}
	return l
}

// cpuColumns are the processes shown, in order.
var cpuColumns = []string{ProcAPI, ProcLimit, ProcPostgres, ProcNATS, ProcWorker, ProcLoad}

// Table renders lines as a Markdown table.
func Table(lines []Line) string {
	var b strings.Builder
	b.WriteString("| row | load | ÷ limit (median [min–max]) | rate/s (median [min–max]) | p50 | p99 | p99.9 | errors | CPU ms/req: api · limit · postgres · nats · worker · load |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---|\n")
	for _, l := range lines {
		ratio := "–"
		if l.Ratio > 0 {
			ratio = fmt.Sprintf("**%.2f** [%.2f–%.2f]", l.Ratio, l.RatioLo, l.RatioH)
		}
		var cpu []string
		for _, k := range cpuColumns {
			if v, ok := l.CPU[k]; ok {
				cpu = append(cpu, fmt.Sprintf("%.2f", v))
			} else {
				cpu = append(cpu, "–")
			}
		}
		name := l.Name
		if len(l.Notes) > 0 {
			name += " (" + strings.Join(l.Notes, "; ") + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s [%s–%s] | %s | %s | %s | %d/%d | %s |\n", name, l.Conc, ratio,
			num(l.Rate), num(l.RateLo), num(l.RateHi), ms(l.P50), ms(l.P99), ms(l.P999), l.Errors, l.Requests, strings.Join(cpu, " · "))
	}
	return b.String()
}

// num prints a rate with thousands separators and no decimals (one for
// small rates).
func num(v float64) string {
	if v < 100 {
		return fmt.Sprintf("%.1f", v)
	}
	s := fmt.Sprintf("%.0f", v)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// ms prints a duration in milliseconds with 2 significant decimals.
func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	switch {
	case d == 0:
		return "–"
	case v < 10:
		return fmt.Sprintf("%.2f ms", v)
	case v < 100:
		return fmt.Sprintf("%.1f ms", v)
	}
	return fmt.Sprintf("%.0f ms", v)
}
