// Command chekd-bench measures chekd end to end against loopback fakes and
// prints one markdown table of performance figures, together with the Go
// benchmarks' results parsed from `go test -bench` output; with -out it
// writes the same table, the machine and the command to a file
// (docs/benchmarks.md).
//
// It runs chekd as a child process (the real binary) and serves the fake
// InSales shops and the fake TLS register itself, so the CPU and memory
// figures are chekd's own; the request counts around single polls come from
// the daemon run in this process, where a poll can be started on demand.
//
// It must never talk to a real shop or register: every address it configures
// is a loopback listener it owns. A missed target is a figure to report, not
// an error; an error means a figure could not be measured.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"
)

type options struct {
	chekd      string
	gobench    string
	gobenchCmd string
	out        string
	only       string

	orders      int
	changed     int
	shops       int
	idleFor     time.Duration
	receipts    int
	pending     int
	startups    int
	delayOrders int
	delayWindow time.Duration
}

var measurements = []string{"throughput", "counts", "delay", "idle", "startup"}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("chekd-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.chekd, "chekd", "", "chekd binary to measure (default: go build ./cmd/chekd into a scratch directory)")
	fs.StringVar(&o.gobench, "gobench", "", "file holding `go test -bench -benchmem` output to include")
	fs.StringVar(&o.gobenchCmd, "gobench-cmd", "", "the go test command that wrote -gobench, for the document")
	fs.StringVar(&o.out, "out", "", "write the document here as well (docs/benchmarks.md)")
	fs.StringVar(&o.only, "only", strings.Join(measurements, ","), "measurements to run, comma-separated: "+strings.Join(measurements, ", "))
	fs.IntVar(&o.orders, "orders", 5000, "end to end: orders in a sale status when chekd starts")
	fs.IntVar(&o.changed, "changed", 1000, "request counts: orders changed before one poll")
	fs.IntVar(&o.shops, "shops", 1000, "idle memory: shops configured")
	fs.DurationVar(&o.idleFor, "idle-for", 20*time.Second, "idle memory: how long chekd runs after it is healthy")
	fs.IntVar(&o.receipts, "receipts", 1_000_000, "start-up: receipts in the store")
	fs.IntVar(&o.pending, "pending", 1000, "start-up: of which pending")
	fs.IntVar(&o.startups, "startups", 3, "start-up: starts to time")
	fs.IntVar(&o.delayOrders, "delay-orders", 200, "delay: orders whose status changes")
	fs.DurationVar(&o.delayWindow, "delay-window", 20*time.Second, "delay: the changes are spread over this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "chekd-bench: unexpected arguments %q\n", fs.Args())
		return 2
	}
	only, err := parseOnly(o.only)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if o.orders < 1 || o.changed < 1 || o.shops < 1 || o.receipts < 1 || o.pending < 0 || o.pending > o.receipts ||
		o.startups < 1 || o.delayOrders < 1 || o.idleFor <= 0 || o.delayWindow <= 0 {
		fmt.Fprintln(stderr, "chekd-bench: counts must be positive, durations too, and -pending at most -receipts")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	doc, err := measure(ctx, o, only, args, stderr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	stdout.Write(doc)
	if o.out != "" {
		if err := os.WriteFile(o.out, doc, 0o644); err != nil {
			fmt.Fprintf(stderr, "chekd-bench: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "chekd-bench: wrote %s\n", o.out)
	}
	return 0
}

func parseOnly(s string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if !slices.Contains(measurements, name) {
			return nil, fmt.Errorf("chekd-bench: -only: unknown measurement %q (one of: %s)", name, strings.Join(measurements, ", "))
		}
		out[name] = true
	}
	return out, nil
}

// measure runs what only asks for and renders the document.
func measure(ctx context.Context, o options, only map[string]bool, args []string, progress io.Writer) ([]byte, error) {
	var gb goBenchRun
	if o.gobench != "" {
		data, err := os.ReadFile(o.gobench)
		if err != nil {
			return nil, fmt.Errorf("chekd-bench: -gobench: %w", err)
		}
		if gb, err = parseGoBench(data); err != nil {
			return nil, err
		}
		if len(gb.Failed) > 0 {
			return nil, fmt.Errorf("chekd-bench: the Go benchmarks failed:\n  %s", strings.Join(gb.Failed, "\n  "))
		}
		if len(gb.Benches) == 0 {
			return nil, fmt.Errorf("chekd-bench: -gobench %s holds no benchmark results", o.gobench)
		}
	}
	tmp, err := os.MkdirTemp("", "chekd-bench-")
	if err != nil {
		return nil, fmt.Errorf("chekd-bench: %w", err)
	}
	defer os.RemoveAll(tmp)
	e := &env{bin: o.chekd, tmp: tmp, progress: progress}
	if e.bin == "" && (only["throughput"] || only["delay"] || only["idle"] || only["startup"]) {
		e.logf("building chekd")
		if e.bin, err = buildChekd(ctx, tmp); err != nil {
			return nil, err
		}
	}
	var r results
	if only["throughput"] {
		t, err := e.measureThroughput(ctx, o.orders)
		if err != nil {
			return nil, err
		}
		r.throughput = &t
	}
	if only["counts"] {
		c, err := e.measureCounts(ctx, o.changed)
		if err != nil {
			return nil, err
		}
		r.counts = &c
	}
	if only["delay"] {
		d, err := e.measureDelay(ctx, o.delayOrders, o.delayWindow)
		if err != nil {
			return nil, err
		}
		r.delay = &d
	}
	if only["idle"] {
		i, err := e.measureIdle(ctx, o.shops, o.idleFor)
		if err != nil {
			return nil, err
		}
		r.idle = &i
	}
	if only["startup"] {
		s, err := e.measureStartup(ctx, o.receipts, o.pending, o.startups)
		if err != nil {
			return nil, err
		}
		r.startup = &s
	}
	if ctx.Err() != nil {
		return nil, errors.New("chekd-bench: interrupted")
	}
	self := "go run ./cmd/chekd-bench"
	m := readMachine(time.Now(), commandText(o, args, self))
	rows, notes := r.rows(m.Cores, self)
	rows = append(rows, benchRows(gb, modulePath())...)
	var buf bytes.Buffer
	render(&buf, m, rows, notes)
	return buf.Bytes(), nil
}

// commandText is what the document shows as the command that produced it.
func commandText(o options, args []string, self string) string {
	var lines []string
	if o.gobenchCmd != "" {
		lines = append(lines, o.gobenchCmd)
	}
	// Paths under the working directory are shown relative to it, so the
	// document does not depend on where the repository was checked out.
	wd, _ := os.Getwd()
	quoted := make([]string, len(args))
	for i, a := range args {
		if wd != "" && wd != "/" {
			a = strings.ReplaceAll(a, wd+"/", "")
		}
		quoted[i] = shellQuote(a)
	}
	lines = append(lines, strings.TrimSpace(self+" "+strings.Join(quoted, " ")))
	return strings.Join(lines, "\n")
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=./,:@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// modulePath is this program's module path, to turn package import paths
// into ./relative ones.
func modulePath() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Path != "" {
		return bi.Main.Path
	}
	return "github.com/chekd/chekd"
}
