package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strings"
	"time"
)

// row is one line of the table.
type row struct {
	Figure string
	Value  string
	Target string // the target or the minimum, "" when there is none
	Met    string // "yes", "no (…)" or "" when there is no target
	Source string // the command that produced it
}

// machine describes where the figures were taken.
type machine struct {
	CPU     string
	Cores   int
	Go      string
	Kernel  string
	OS      string
	Date    time.Time
	Command string
}

// readMachine reads the CPU model from /proc/cpuinfo and the kernel release
// from /proc/sys/kernel/osrelease; either is "unknown" when unreadable.
func readMachine(now time.Time, command string) machine {
	m := machine{CPU: "unknown", Kernel: "unknown", Cores: runtime.NumCPU(), Go: runtime.Version(),
		OS: runtime.GOOS + "/" + runtime.GOARCH, Date: now.UTC(), Command: command}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if model := cpuModel(data); model != "" {
			m.CPU = model
		}
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(data))
	}
	return m
}

// cpuModel is the first "model name" (x86) or "Model"/"CPU part" (arm) of
// /proc/cpuinfo.
func cpuModel(cpuinfo []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(cpuinfo))
	fallback := ""
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.Join(strings.Fields(v), " ")
		switch {
		case k == "model name" && v != "":
			return v
		case (k == "Model" || k == "CPU part") && v != "" && fallback == "":
			fallback = v
		}
	}
	return fallback
}

// cell makes text safe inside a markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// render writes the whole document.
func render(w io.Writer, m machine, rows []row, notes []string) {
	fmt.Fprintf(w, "# chekd performance figures\n\n")
	fmt.Fprintf(w, "Produced by `make bench` on %s. Regenerate with `make bench`; every figure names the command that measured it.\n\n",
		m.Date.Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(w, "Machine: %s, %d cores, %s, Linux %s, %s.\n\n", m.CPU, m.Cores, m.OS, m.Kernel, m.Go)
	fmt.Fprintf(w, "Command:\n\n```\n%s\n```\n\n", m.Command)
	fmt.Fprintf(w, "| Figure | Value | Target | Met | Measured by |\n|---|---|---|---|---|\n")
	for _, r := range rows {
		target, met := r.Target, r.Met
		if target == "" {
			target, met = "—", "—"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | `%s` |\n", cell(r.Figure), cell(r.Value), cell(target), cell(met), strings.ReplaceAll(r.Source, "`", "'"))
	}
	if len(notes) > 0 {
		fmt.Fprintf(w, "\n## Notes\n\n")
		for _, n := range notes {
			fmt.Fprintf(w, "- %s\n", n)
		}
	}
}

// fmtDuration prints d with three significant digits in a fitting unit.
func fmtDuration(d time.Duration) string {
	ns := float64(d)
	switch {
	case ns >= 1e9:
		return sig3(ns/1e9) + " s"
	case ns >= 1e6:
		return sig3(ns/1e6) + " ms"
	case ns >= 1e3:
		return sig3(ns/1e3) + " µs"
	}
	return sig3(ns) + " ns"
}

// sig3 prints v with three significant digits (all digits of an integer
// part that has more).
func sig3(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 100:
		return thousands(int64(math.Round(v)))
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

// thousands writes n with commas: 1,234,567.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// fmtBytes prints a byte count in MB (2^20) or KB.
func fmtBytes(n float64) string {
	switch {
	case n >= 1<<20:
		return sig3(n/(1<<20)) + " MB"
	case n >= 1<<10:
		return sig3(n/(1<<10)) + " KB"
	}
	return sig3(n) + " B"
}

// benchValue formats a Go benchmark's metrics: time per op, then the other
// metrics as go test printed them (bytes made readable).
func benchValue(b goBench) string {
	var parts []string
	for _, m := range b.Metrics {
		switch m.Unit {
		case "ns/op":
			parts = append(parts, fmtDuration(time.Duration(m.Value))+"/op")
		case "B/op":
			parts = append(parts, fmtBytes(m.Value)+"/op")
		case "allocs/op":
			parts = append(parts, thousands(int64(m.Value))+" allocs/op")
		default:
			parts = append(parts, sig3(m.Value)+" "+m.Unit)
		}
	}
	return strings.Join(parts, ", ")
}

// benchFigures names the benchmarks the issues ask about; others are listed
// under their own names.
var benchFigures = map[string]string{
	"BenchmarkDecodeOrders100":                 "InSales: decode a page of 100 orders",
	"BenchmarkBuild60Lines":                    "Receipt: build a 60-line receipt",
	"BenchmarkDecide":                          "Receipt: decide what an order needs",
	"BenchmarkSend":                            "Register client: Send one receipt (loopback TLS fake)",
	"BenchmarkPrint":                           "Fake register: print one receipt",
	"BenchmarkIntentPrinted/page100_senders8":  "Store: intent + printed per receipt, fsync, pages of 100, 8 senders",
	"BenchmarkIntentPrinted/page100_senders32": "Store: intent + printed per receipt, fsync, pages of 100, 32 senders",
	"BenchmarkIntentPrinted/single_sequential": "Store: intent + printed per receipt, fsync, one at a time",
	"BenchmarkQuery1M/newest100":               "Store, 1,000,000 receipts: newest 100",
	"BenchmarkQuery1M/newest100_shop":          "Store, 1,000,000 receipts: newest 100 of a shop",
	"BenchmarkQuery1M/newest100_shop_failed":   "Store, 1,000,000 receipts: newest 100 failed of a shop",
	"BenchmarkQuery1M/newest100_page500":       "Store, 1,000,000 receipts: 100 newest before the 50,000th",
	"BenchmarkQuery1M/pending_all":             "Store, 1,000,000 receipts: every pending receipt (1,000)",
	"BenchmarkQuery1M/counts":                  "Store, 1,000,000 receipts: counts per state",
}

// benchRows turns parsed Go benchmarks into rows; module is the module path,
// stripped from package names to give runnable ./pkg paths.
func benchRows(run goBenchRun, module string) []row {
	var rows []row
	for _, b := range run.Benches {
		name := benchFigures[b.Name]
		if name == "" {
			name = b.Name
		}
		pkg := "./" + strings.TrimPrefix(strings.TrimPrefix(b.Pkg, module), "/")
		if b.Pkg == "" {
			pkg = "./..."
		}
		top, sub, _ := strings.Cut(b.Name, "/")
		pattern := "^" + top + "$"
		if sub != "" {
			pattern += "/^" + sub + "$"
		}
		rows = append(rows, row{Figure: name, Value: benchValue(b),
			Source: fmt.Sprintf("go test -run '^$' -bench '%s' -benchmem %s", pattern, pkg)})
	}
	return rows
}
