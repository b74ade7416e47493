package bench

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clockTick is the kernel's USER_HZ (ticks per second in /proc), 100 on
// every Linux this runs on.
const clockTick = 100

// procTicks is user+system CPU ticks of a process from /proc/<pid>/stat
// (fields 14 and 15), -1 if it is gone.
func procTicks(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1
	}
	return parseStatTicks(b)
}

// parseStatTicks reads utime+stime from the content of a /proc/<pid>/stat
// file. The command name (field 2) may hold spaces and parentheses, so
// fields are counted after its last ")".
func parseStatTicks(stat []byte) int64 {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 { // f[0] is field 3 (state); utime is field 14 → f[11]
		return -1
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return u + s
}

// isBackendOf reports whether a process command line (NUL-separated, as
// in /proc/<pid>/cmdline) is a Postgres backend serving database db:
// "postgres: [cluster: ]user db host(port) state".
func isBackendOf(cmdline []byte, db string) bool {
	s := strings.TrimRight(strings.ReplaceAll(string(cmdline), "\x00", " "), " ")
	if !strings.HasPrefix(s, "postgres: ") {
		return false
	}
	f := strings.Fields(s[len("postgres: "):])
	if len(f) > 0 && strings.HasSuffix(f[0], ":") { // "15/main:" cluster name
		f = f[1:]
	}
	return len(f) >= 3 && f[1] == db && strings.Contains(f[2], "(")
}

// backendsOf lists the pids of the Postgres backends serving db.
func backendsOf(db string) []int {
	paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var out []int
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil || !isBackendOf(b, db) {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p))); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// cpuProbe measures CPU time by named group of processes. Each group
// lists its pids when sampled (Postgres backends come and go).
type cpuProbe map[string]func() []int

// cpuSnap is ticks by group and pid.
type cpuSnap map[string]map[int]int64

func (p cpuProbe) sample() cpuSnap {
	s := cpuSnap{}
	for name, pids := range p {
		m := map[int]int64{}
		for _, pid := range pids() {
			if t := procTicks(pid); t >= 0 {
				m[pid] = t
			}
		}
		s[name] = m
	}
	return s
}

// cpuPerOp is the CPU milliseconds each group used between a and b,
// divided by ops. A process that appeared meanwhile counts whole; one that
// vanished is lost (its ticks cannot be read any more).
func cpuPerOp(a, b cpuSnap, ops int) map[string]float64 {
	out := map[string]float64{}
	if ops <= 0 {
		return out
	}
	for name, after := range b {
		var ticks int64
		for pid, t := range after {
			ticks += t - a[name][pid] // a missing pid reads 0
		}
		out[name] = float64(ticks) * 1000 / clockTick / float64(ops)
	}
	return out
}
