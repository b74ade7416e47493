package main

import (
	"io"
	"reflect"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tc := range []struct {
		name      string
		args      []string
		env       map[string]string
		wantErr   bool
		wantConc  []int
		wantDur   time.Duration
		wantRound int
		wantOnly  []string
		wantDSN   string
	}{
		{name: "defaults: 3 rounds of 2 s at c=32 and c=64", wantConc: []int{32, 64}, wantDur: 2 * time.Second, wantRound: 3,
			wantDSN: "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"},
		{name: "environment knobs", env: map[string]string{"BENCH_DURATION": "5s", "BENCH_ROUNDS": "5", "BENCH_ONLY": "verify, drain",
			"TEST_DATABASE_URL": "postgres://t/x"}, wantConc: []int{32, 64}, wantDur: 5 * time.Second, wantRound: 5, wantOnly: []string{"verify", "drain"}, wantDSN: "postgres://t/x"},
		{name: "BENCH_DATABASE_URL wins over TEST_DATABASE_URL", env: map[string]string{"BENCH_DATABASE_URL": "postgres://b/x", "TEST_DATABASE_URL": "postgres://t/x"},
			wantConc: []int{32, 64}, wantDur: 2 * time.Second, wantRound: 3, wantDSN: "postgres://b/x"},
		{name: "flags win over the environment", args: []string{"-duration", "2s", "-rounds", "1", "-conc", "8, 16"}, env: map[string]string{"BENCH_DURATION": "5s"},
			wantConc: []int{8, 16}, wantDur: 2 * time.Second, wantRound: 1, wantDSN: "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"},
		{name: "quick is one round of 1 s at c=32", args: []string{"-quick"}, wantConc: []int{32}, wantDur: time.Second, wantRound: 1,
			wantDSN: "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"},
		{name: "a bad concurrency is refused", args: []string{"-conc", "32,x"}, wantErr: true},
		{name: "a zero concurrency is refused", args: []string{"-conc", "0"}, wantErr: true},
		{name: "stray arguments are refused", args: []string{"extra"}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parseFlags(tc.args, env(tc.env), io.Discard)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("accepted %v: %+v", tc.args, cfg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg.Concs, tc.wantConc) || cfg.Duration != tc.wantDur || cfg.Rounds != tc.wantRound ||
				!reflect.DeepEqual(cfg.Only, tc.wantOnly) || cfg.DatabaseURL != tc.wantDSN {
				t.Fatalf("config %+v", cfg)
			}
		})
	}
}
