package main

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// goBench is one result line of `go test -bench`.
type goBench struct {
	Pkg     string // import path from the "pkg:" line before it
	Name    string // BenchmarkX/sub, without the -GOMAXPROCS suffix
	Procs   int    // the -N suffix, 0 when absent
	N       int64  // iterations
	Metrics []metric
}

// metric is one "value unit" pair of a result line.
type metric struct {
	Value float64
	Unit  string
}

// Metric returns the value of unit, and whether the line has it.
func (b goBench) Metric(unit string) (float64, bool) {
	for _, m := range b.Metrics {
		if m.Unit == unit {
			return m.Value, true
		}
	}
	return 0, false
}

// goBenchRun is a whole `go test -bench` output.
type goBenchRun struct {
	Benches []goBench
	Failed  []string // "FAIL ..." and "--- FAIL" lines
}

// maxLine bounds one line of go test output; a longer one is an error.
const maxLine = 1 << 20

// parseGoBench reads `go test -bench -benchmem` output: "pkg:" lines set the
// package of the result lines after them; a result line is a name starting
// with "Benchmark", an iteration count, then value/unit pairs. Log lines,
// "goos:"/"cpu:" headers and "ok"/"PASS" lines are skipped; FAIL lines are
// collected.
func parseGoBench(data []byte) (goBenchRun, error) {
	var run goBenchRun
	if !utf8.Valid(data) {
		return run, fmt.Errorf("chekd-bench: go test output is not UTF-8")
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), maxLine)
	pkg := ""
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := strings.TrimRight(sc.Text(), "\r")
		switch {
		case strings.HasPrefix(line, "pkg: "):
			pkg = strings.TrimSpace(strings.TrimPrefix(line, "pkg: "))
			continue
		case strings.HasPrefix(line, "FAIL") || strings.HasPrefix(strings.TrimSpace(line), "--- FAIL"):
			run.Failed = append(run.Failed, strings.TrimSpace(line))
			continue
		case !strings.HasPrefix(line, "Benchmark"):
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue // a benchmark's name printed alone before its log lines
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue // a log line that happens to start with "Benchmark"
		}
		if n <= 0 || len(f)%2 != 0 {
			return run, fmt.Errorf("chekd-bench: go test output line %d: malformed result %q", lineNo, line)
		}
		b := goBench{Pkg: pkg, N: n}
		b.Name, b.Procs = splitProcs(f[0])
		for i := 2; i < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return run, fmt.Errorf("chekd-bench: go test output line %d: %q is not a number", lineNo, f[i])
			}
			b.Metrics = append(b.Metrics, metric{Value: v, Unit: f[i+1]})
		}
		run.Benches = append(run.Benches, b)
	}
	if err := sc.Err(); err != nil {
		return run, fmt.Errorf("chekd-bench: read go test output: %w", err)
	}
	return run, nil
}

// splitProcs splits "BenchmarkX/y-2" into "BenchmarkX/y" and 2.
func splitProcs(s string) (string, int) {
	i := strings.LastIndexByte(s, '-')
	if i < 0 {
		return s, 0
	}
	p, err := strconv.Atoi(s[i+1:])
	if err != nil || p <= 0 {
		return s, 0
	}
	return s[:i], p
}
