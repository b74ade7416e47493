package bench

import (
	"strings"
	"testing"
	"time"
)

func ds(ms ...int) []time.Duration {
	out := make([]time.Duration, len(ms))
	for i, m := range ms {
		out[i] = time.Duration(m) * time.Millisecond
	}
	return out
}

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		{"no values give 0", nil, 0.99, 0},
		{"one value is every percentile", ds(7), 0.5, 7 * time.Millisecond},
		{"median of 1…100 is the 50th value", hundred, 0.5, 50 * time.Millisecond},
		{"p99 of 1…100 is the 99th value", hundred, 0.99, 99 * time.Millisecond},
		{"p99.9 of 1…100 is the largest", hundred, 0.999, 100 * time.Millisecond},
		{"p50 of four values is the second (nearest rank)", ds(1, 2, 3, 4), 0.5, 2 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percentile(tc.sorted, tc.q); got != tc.want {
				t.Fatalf("Percentile(%v, %v) = %v, want %v", tc.sorted, tc.q, got, tc.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	for _, tc := range []struct {
		name     string
		lat      []time.Duration
		errors   int
		elapsed  time.Duration
		wantRate float64
		wantP50  time.Duration
		wantP99  time.Duration
	}{
		{"unsorted latencies are sorted before percentiles", ds(9, 1, 5, 3, 7), 0, time.Second, 5, 5 * time.Millisecond, 9 * time.Millisecond},
		{"errors do not count in the rate", ds(1, 2, 3, 4), 2, 2 * time.Second, 1, 2 * time.Millisecond, 4 * time.Millisecond},
		{"no elapsed time gives no rate", ds(1), 0, 0, 0, time.Millisecond, time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Summarize(tc.lat, tc.errors, tc.elapsed)
			if s.Rate != tc.wantRate || s.P50 != tc.wantP50 || s.P99 != tc.wantP99 || s.Requests != len(tc.lat) || s.Errors != tc.errors {
				t.Fatalf("Summarize = %+v, want rate %v p50 %v p99 %v", s, tc.wantRate, tc.wantP50, tc.wantP99)
			}
		})
	}
}

func TestMedianAndSpread(t *testing.T) {
	for _, tc := range []struct {
		name           string
		xs             []float64
		med, low, high float64
	}{
		{"none", nil, 0, 0, 0},
		{"odd count takes the middle", []float64{3, 1, 2}, 2, 1, 3},
		{"even count averages the middle two", []float64{4, 1, 3, 2}, 2.5, 1, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lo, hi := Spread(tc.xs)
			if m := Median(tc.xs); m != tc.med || lo != tc.low || hi != tc.high {
				t.Fatalf("median %v spread %v–%v, want %v %v–%v", m, lo, hi, tc.med, tc.low, tc.high)
			}
		})
	}
	xs := []float64{3, 1, 2}
	Median(xs)
	if xs[0] != 3 {
		t.Fatal("Median reordered its argument")
	}
}

func TestAggregate(t *testing.T) {
	ours := []Sample{
		{Rate: 100, P99: 30 * time.Millisecond, Errors: 1, Requests: 301, CPU: map[string]float64{ProcAPI: 1}},
		{Rate: 300, P99: 10 * time.Millisecond, Requests: 900, CPU: map[string]float64{ProcAPI: 3}},
		{Rate: 200, P99: 20 * time.Millisecond, Requests: 600, CPU: map[string]float64{ProcAPI: 2}, Note: "short"},
	}
	ref := []Sample{{Rate: 1000}, {Rate: 1000}, {Rate: 400}}
	for _, tc := range []struct {
		name  string
		ref   []Sample
		ratio float64
		lo    float64
		hi    float64
	}{
		{"ratios are per round, then the median", ref, 0.3, 0.1, 0.5},
		{"no reference gives no ratio", nil, 0, 0, 0},
		{"a reference round with no rate is skipped", []Sample{{Rate: 0}, {Rate: 600}, {Rate: 400}}, 0.5, 0.5, 0.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := Aggregate("row", "c=32", ours, tc.ref)
			if !near(l.Ratio, tc.ratio) || !near(l.RatioLo, tc.lo) || !near(l.RatioH, tc.hi) {
				t.Fatalf("ratio %v [%v–%v], want %v [%v–%v]", l.Ratio, l.RatioLo, l.RatioH, tc.ratio, tc.lo, tc.hi)
			}
			if l.Rate != 200 || l.RateLo != 100 || l.RateHi != 300 || l.P99 != 20*time.Millisecond || l.Errors != 1 || l.Requests != 1801 ||
				l.CPU[ProcAPI] != 2 || len(l.Notes) != 1 {
				t.Fatalf("line %+v", l)
			}
		})
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

func TestTable(t *testing.T) {
	out := Table([]Line{
		{Name: "limit", Conc: "c=32", Rate: 3456.4, RateLo: 3000, RateHi: 4000, P50: 5 * time.Millisecond, P99: 45 * time.Millisecond,
			P999: 123 * time.Millisecond, Requests: 10, CPU: map[string]float64{ProcLimit: 0.1}},
		{Name: "send", Conc: "c=32", Ratio: 0.25, RatioLo: 0.2, RatioH: 0.3, Rate: 864, Errors: 2, Requests: 100, Notes: []string{"short"}},
	})
	for _, want := range []string{
		"| limit | c=32 | – | 3,456 [3,000–4,000] | 5.00 ms | 45.0 ms | 123 ms | 0/10 | – · 0.10 · – · – · – · – |",
		"| send (short) | c=32 | **0.25** [0.20–0.30] | 864 [0.0–0.0] |",
		"2/100",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestParseStatTicks(t *testing.T) {
	for _, tc := range []struct {
		name string
		stat string
		want int64
	}{
		{"utime plus stime", "1234 (api) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 70 0 0 20 0 9 0 100 0 0", 320},
		{"a command name with spaces and parentheses", "1 (a (b) c) R 1 1 1 0 -1 0 0 0 0 0 5 6 0 0", 11},
		{"a truncated line", "1 (x) S 1 2", -1},
		{"no command name", "garbage", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseStatTicks([]byte(tc.stat)); got != tc.want {
				t.Fatalf("parseStatTicks = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestIsBackendOf(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cmdline string
		db      string
		want    bool
	}{
		{"a backend of the database, with a cluster name", "postgres: 15/main: postgres sesame_bench_1 127.0.0.1(5123) idle\x00", "sesame_bench_1", true},
		{"a unix-socket backend (no host(port); the driver uses TCP)", "postgres: postgres sesame_bench_1 [local] UPDATE", "sesame_bench_1", false},
		{"a backend over TCP without a cluster name", "postgres: postgres sesame_bench_1 127.0.0.1(1) idle", "sesame_bench_1", true},
		{"another database with our name as prefix", "postgres: 15/main: postgres sesame_bench_10 127.0.0.1(5) idle", "sesame_bench_1", false},
		{"a background process", "postgres: 15/main: walwriter ", "sesame_bench_1", false},
		{"not Postgres", "/usr/bin/api\x00", "sesame_bench_1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := isBackendOf([]byte(tc.cmdline), tc.db); got != tc.want {
				t.Fatalf("isBackendOf(%q, %q) = %v", tc.cmdline, tc.db, got)
			}
		})
	}
}

func TestCPUPerOp(t *testing.T) {
	a := cpuSnap{ProcAPI: {10: 100}, ProcPostgres: {20: 50, 21: 10}}
	b := cpuSnap{ProcAPI: {10: 300}, ProcPostgres: {20: 150, 22: 40}} // 21 gone, 22 new
	got := cpuPerOp(a, b, 1000)
	// api: 200 ticks = 2 s over 1000 ops = 2 ms; postgres: 100 + 40 ticks = 1.4 ms.
	if !near(got[ProcAPI], 2) || !near(got[ProcPostgres], 1.4) {
		t.Fatalf("cpuPerOp = %v", got)
	}
	if len(cpuPerOp(a, b, 0)) != 0 {
		t.Fatal("no ops should give no figures")
	}
}

func TestDBURL(t *testing.T) {
	for _, tc := range []struct{ base, want string }{
		{"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "postgres://postgres@127.0.0.1:5432/x?sslmode=disable"},
		{"postgres://u:p@h:1/db", "postgres://u:p@h:1/x"},
		{"postgres://h?sslmode=disable", "postgres://h/x?sslmode=disable"},
	} {
		if got, err := dbURL(tc.base, "x"); err != nil || got != tc.want {
			t.Errorf("dbURL(%q) = %q, %v; want %q", tc.base, got, err, tc.want)
		}
	}
	if _, err := dbURL("host=h dbname=d", "x"); err == nil {
		t.Error("a keyword/value DSN was accepted")
	}
}

func TestWrongCodeDiffers(t *testing.T) {
	for _, c := range []string{"000000", "123459", "999999"} {
		w := code{code: c}.wrong()
		if w == c || len(w) != len(c) || strings.Trim(w, "0123456789") != "" {
			t.Errorf("wrong(%q) = %q", c, w)
		}
	}
}

func TestJWTAlg(t *testing.T) {
	for _, tc := range []struct{ jwt, want string }{
		{"eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.e30.sig", "ES256"}, // {"alg":"ES256","typ":"JWT"}
		{"eyJhbGciOiJSUzI1NiJ9.e30.sig", "RS256"},                 // {"alg":"RS256"}
		{"not a jwt", ""},
		{"", ""},
	} {
		if got := jwtAlg(tc.jwt); got != tc.want {
			t.Errorf("jwtAlg(%q) = %q, want %q", tc.jwt, got, tc.want)
		}
	}
}

func TestTopWaits(t *testing.T) {
	for _, tc := range []struct {
		name   string
		counts map[string]int
		n      int
		want   string
	}{
		{"none", nil, 3, "no samples"},
		{"largest first with shares, ties by name", map[string]int{"CPU": 2, "LWLock:WALWrite": 6, "IO:WALSync": 2}, 2, "LWLock:WALWrite 60%, CPU 20%"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := topWaits(tc.counts, tc.n); got != tc.want {
				t.Fatalf("topWaits = %q, want %q", got, tc.want)
			}
		})
	}
}
