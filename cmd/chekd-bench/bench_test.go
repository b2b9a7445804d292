package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

const sampleGoBench = `goos: linux
goarch: amd64
pkg: github.com/chekd/chekd/insales
cpu: Intel(R) Xeon(R) Processor
BenchmarkDecodeOrders100-2   	    1446	    812345 ns/op	  301234 B/op	    4021 allocs/op
PASS
ok  	github.com/chekd/chekd/insales	2.1s
pkg: github.com/chekd/chekd/store
BenchmarkIntentPrinted/page100_senders8-2         	    3000	    402000 ns/op	      2488 receipts/s	    1900 file_bytes/receipt	   12000 B/op	     150 allocs/op
BenchmarkQuery1M
    bench_test.go:158: built 1000000 receipts in 14s, file 1843 MB
BenchmarkQuery1M/newest100-2 	    5000	    250000 ns/op	      1843 bytes/receipt	  200000 B/op	    2500 allocs/op
ok  	github.com/chekd/chekd/store	40.0s
`

func TestParseGoBench(t *testing.T) {
	t.Parallel()
	run, err := parseGoBench([]byte(sampleGoBench))
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Failed) != 0 {
		t.Fatalf("failures %q", run.Failed)
	}
	if len(run.Benches) != 3 {
		t.Fatalf("got %d results, want 3: %+v", len(run.Benches), run.Benches)
	}
	d := run.Benches[0]
	if d.Pkg != "github.com/chekd/chekd/insales" || d.Name != "BenchmarkDecodeOrders100" || d.Procs != 2 || d.N != 1446 {
		t.Errorf("first result %+v", d)
	}
	if v, ok := d.Metric("allocs/op"); !ok || v != 4021 {
		t.Errorf("allocs/op %v %v", v, ok)
	}
	ip := run.Benches[1]
	if ip.Name != "BenchmarkIntentPrinted/page100_senders8" || ip.Pkg != "github.com/chekd/chekd/store" {
		t.Errorf("second result %+v", ip)
	}
	if v, _ := ip.Metric("receipts/s"); v != 2488 {
		t.Errorf("receipts/s %v", v)
	}
	rows := benchRows(run, "github.com/chekd/chekd")
	if got := rows[2].Source; got != "go test -run '^$' -bench '^BenchmarkQuery1M$/^newest100$' -benchmem ./store" {
		t.Errorf("source %q", got)
	}
	if got := rows[0].Value; got != "812 µs/op, 294 KB/op, 4,021 allocs/op" {
		t.Errorf("value %q", got)
	}
	if rows[0].Figure != "InSales: decode a page of 100 orders" {
		t.Errorf("figure %q", rows[0].Figure)
	}
}

func TestParseGoBenchFailuresAndErrors(t *testing.T) {
	t.Parallel()
	run, err := parseGoBench([]byte("pkg: x\n--- FAIL: BenchmarkX-2\nFAIL\tgithub.com/chekd/chekd/store [build failed]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Failed) != 2 {
		t.Errorf("failed lines %q", run.Failed)
	}
	for _, bad := range []string{
		"BenchmarkX-2 10 12 ns/op extra\n",    // odd number of fields
		"BenchmarkX-2 10 NaN ns/op\n",         // not a number
		"BenchmarkX-2 0 12 ns/op\n",           // no iterations
		"BenchmarkX-2 10 1e999 ns/op\n",       // infinite
		"BenchmarkX-2 10 \xff ns/op\n",        // not UTF-8
		"BenchmarkX-2 10 12 ns/op 3 x/op 4\n", // odd again
	} {
		if _, err := parseGoBench([]byte(bad)); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
	// A log line starting with Benchmark is not a result.
	run, err = parseGoBench([]byte("BenchmarkQuery1M built the store\n"))
	if err != nil || len(run.Benches) != 0 {
		t.Errorf("log line: %+v %v", run, err)
	}
}

func FuzzParseGoBench(f *testing.F) {
	f.Add([]byte(sampleGoBench))
	f.Add([]byte("BenchmarkX-2 10 12 ns/op\n"))
	f.Add([]byte("FAIL\n--- FAIL: x\npkg: y\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		run, err := parseGoBench(data)
		if err != nil {
			return
		}
		for _, b := range run.Benches {
			if b.N <= 0 || !strings.HasPrefix(b.Name, "Benchmark") {
				t.Fatalf("accepted a bad result %+v", b)
			}
		}
		var buf bytes.Buffer
		render(&buf, machine{}, benchRows(run, "github.com/chekd/chekd"), nil)
		if got := strings.Count(buf.String(), "\n| "); got != len(run.Benches)+1 {
			t.Fatalf("%d table lines for %d results:\n%s", got, len(run.Benches), buf.String())
		}
	})
}

func TestProcStatusBytes(t *testing.T) {
	t.Parallel()
	status := []byte("Name:\tchekd\nVmPeak:\t  812344 kB\nVmHWM:\t   53124 kB\nVmRSS:\t   41000 kB\n")
	if n, err := procStatusBytes(status, "VmHWM"); err != nil || n != 53124*1024 {
		t.Errorf("VmHWM %d %v", n, err)
	}
	for _, bad := range []string{"VmRSS:\t1 kB\n", "VmHWM:\t12 MB\n", "VmHWM:\t-1 kB\n", "VmHWM:\tx kB\n", ""} {
		if _, err := procStatusBytes([]byte(bad), "VmHWM"); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func FuzzProcStatusBytes(f *testing.F) {
	f.Add([]byte("VmHWM:\t   53124 kB\n"))
	f.Add([]byte("VmHWM: 1 kB"))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := procStatusBytes(data, "VmHWM")
		if err == nil && (n < 0 || n%1024 != 0) {
			t.Fatalf("%d bytes from %q", n, data)
		}
	})
}

func TestParseMetrics(t *testing.T) {
	t.Parallel()
	text := "# HELP go_goroutines Number of goroutines.\n# TYPE go_goroutines gauge\ngo_goroutines 2043\n" +
		"go_memstats_stack_inuse_bytes 1.6384e+07\nchekd_polls_total{shop=\"bench\"} 3\nbad line here x\nnan_metric NaN\n"
	m := parseMetrics([]byte(text))
	if m["go_goroutines"] != 2043 || m["go_memstats_stack_inuse_bytes"] != 16384000 {
		t.Errorf("parsed %v", m)
	}
	if _, ok := m["chekd_polls_total"]; ok {
		t.Error("a labelled sample was read")
	}
	if _, ok := m["nan_metric"]; ok || len(m) != 2 {
		t.Errorf("parsed %v", m)
	}
}

func FuzzParseMetrics(f *testing.F) {
	f.Add([]byte("go_goroutines 12\n# c\nx{a=\"b\"} 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for k := range parseMetrics(data) {
			if !metricName(k) || strings.ContainsAny(k, "{ \t#") {
				t.Fatalf("metric name %q", k)
			}
		}
	})
}

func TestCPUModel(t *testing.T) {
	t.Parallel()
	x86 := "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R)   Processor\nprocessor\t: 1\nmodel name\t: other\n"
	if got := cpuModel([]byte(x86)); got != "Intel(R) Xeon(R) Processor" {
		t.Errorf("x86: %q", got)
	}
	arm := "processor\t: 0\nBogoMIPS\t: 50.00\nCPU part\t: 0xd0c\n\nModel\t: Raspberry Pi 4\n"
	if got := cpuModel([]byte(arm)); got != "0xd0c" {
		t.Errorf("arm: %q", got)
	}
	if got := cpuModel(nil); got != "" {
		t.Errorf("empty: %q", got)
	}
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {0.1, time.Millisecond}} {
		if got := percentile(ds, c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if got := percentile([]time.Duration{7}, 99); got != 7 {
		t.Errorf("one sample: %v", got)
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("none: %v", got)
	}
	if ds[0] != 100*time.Millisecond {
		t.Error("percentile sorted its input in place")
	}
}

func TestFormatting(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ got, want string }{
		{thousands(1234567), "1,234,567"},
		{thousands(-1000), "-1,000"},
		{thousands(999), "999"},
		{fmtDuration(1500 * time.Microsecond), "1.50 ms"},
		{fmtDuration(639 * time.Microsecond), "639 µs"},
		{fmtDuration(3100 * time.Millisecond), "3.10 s"},
		{fmtBytes(206 << 20), "206 MB"},
		{fmtBytes(512), "512 B"},
		{missedBy(800, 1000), "no: missed by 20%"},
		{over(96, 64), "no: 50% over"},
		{cell("a|b\nc"), `a\|b c`},
		{shellQuote("-only"), "-only"},
		{shellQuote("go test -run '^$'"), `'go test -run '\''^$'\'''`},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if pages(1000, 250) != 5 || pages(1001, 250) != 6 || pages(1, 250) != 2 {
		t.Error("pages")
	}
}

// TestRowsReportMissedTargets checks that a missed target is reported with
// how much it was missed by and a reason.
func TestRowsReportMissedTargets(t *testing.T) {
	t.Parallel()
	r := results{
		throughput: &throughput{Orders: 5000, Elapsed: 10 * time.Second, CPU: 2 * time.Second, RegRequests: 5100, Printed: 5000, InSalesRequests: 22, PerPage: 250},
		counts:     &counts{PerPage: 250, IdleEmpty: 1, IdleLone: 2, IdleAfterBurst: 5, Changed: 1000, ChangedPoll: 6, OverlapReReads: 1},
		idle:       &idle{Shops: 1000, Duration: 20 * time.Second, VmHWM: 96 << 20, Requests: 1000},
		startup:    &startup{Receipts: 1000, Pending: 10, Runs: []time.Duration{time.Second / 2, 2 * time.Second}},
	}
	rows, notes := r.rows(2, "go run ./cmd/chekd-bench")
	met := map[string]string{}
	for _, row := range rows {
		met[row.Figure[:20]] = row.Met
	}
	want := map[string]string{
		"End to end: receipts": "no: missed by 50%",
		"End to end: chekd CP": "yes",
		"Register requests pe": "no: 100 extra requests",
		"InSales requests to ": "no: 1 more",
		"InSales requests per": "no: 1 more",
		"Peak RSS with 1,000 ": "no: 50% over",
		"Start-up with 1,000 ": "no: 100% over",
	}
	for k, v := range want {
		if met[k] != v {
			t.Errorf("%s…: met %q, want %q", k, met[k], v)
		}
	}
	all := strings.Join(notes, "\n")
	for _, s := range []string{"waits rather than works", "the overlap re-read is the cause", "over the 64 MB target"} {
		if !strings.Contains(all, s) {
			t.Errorf("notes lack %q:\n%s", s, all)
		}
	}
}

// TestCountsAgainstFakes runs the request counts on a small scale: real
// daemon, real fakes over loopback HTTP and TLS, real store.
func TestCountsAgainstFakes(t *testing.T) {
	t.Parallel()
	e := &env{tmp: t.TempDir(), progress: &bytes.Buffer{}}
	c, err := e.measureCounts(context.Background(), 30)
	if err != nil {
		t.Fatal(err)
	}
	// 30 orders fit one page of 250: one page and the empty page at least.
	if c.ChangedPoll < pages(30, 250) || c.IdleEmpty != 1 || c.IdleLone < 1 || c.IdleAfterBurst < c.IdleLone {
		t.Errorf("counts %+v", c)
	}
	if c.OverlapReReads < 0 {
		t.Errorf("negative re-reads: %+v", c)
	}
}
