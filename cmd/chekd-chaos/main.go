// Command chekd-chaos checks chekd's exactly-once promise under kill -9 and
// faults. It starts chekd-fakes (fake InSales shops and a fake TLS register,
// in a process of their own so the register's answer cache outlives chekd),
// runs `chekd run` as a child, moves orders through sale and refund statuses
// in waves while injecting register faults (busy, no OFD link, print then
// drop, slow past the timeout) and InSales faults (429 storms, 503,
// malformed pages, from_id ignored), SIGKILLs chekd at random moments and
// restarts it on the same data dir. After a quiet period it stops chekd
// gracefully, checks its store, and compares the register's ledger with the
// receipts the orders' histories call for. It prints
//
//	kills=N expected=E printed=P duplicates=D missing=M
//
// and exits 1 when anything is duplicated, missing or extra, or the store
// is unsound; 2 on bad flags.
//
// It must never be pointed at a real shop or register: it talks only to the
// fakes it starts, and the work dir it leaves behind holds their throw-away
// keys.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

func realMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chekd-chaos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.IntVar(&o.orders, "orders", 1000, "orders to create, spread over the shops")
	fs.IntVar(&o.shops, "shops", 3, "fake shops")
	fs.IntVar(&o.kills, "kills", 100, "SIGKILLs of chekd")
	fs.Uint64Var(&o.seed, "seed", uint64(time.Now().UnixNano()), "random seed (printed, to replay a run's choices)")
	fs.StringVar(&o.chekdBin, "chekd", "", "chekd binary (default: go build ./cmd/chekd)")
	fs.StringVar(&o.fakesBin, "fakes", "", "chekd-fakes binary (default: go build ./cmd/chekd-fakes)")
	fs.StringVar(&o.dir, "dir", "", "work dir (default: a temporary one, removed when the run passes)")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary work dir even when the run passes")
	fs.BoolVar(&o.timeoutFault, "timeout-fault", true, "once, hold a register answer past chekd's register timeout (5 s) with no kill")
	fs.IntVar(&o.realLimit, "real-limit", 1, "shops keeping InSales' real limit of 500 requests per 5 minutes (the others allow 100000)")
	fs.IntVar(&o.wholeSeconds, "whole-seconds", 1, "shops writing updated_at in whole seconds")
	fs.DurationVar(&o.minLife, "min-life", 50*time.Millisecond, "shortest chekd life before a kill")
	fs.DurationVar(&o.maxLife, "max-life", 600*time.Millisecond, "longest usual chekd life before a kill")
	fs.DurationVar(&o.stall, "stall", 150*time.Second, "give up waiting when nothing moved for this long")
	fs.DurationVar(&o.deadline, "deadline", 20*time.Minute, "hang protection for the whole run")
	verbose := fs.Bool("v", false, "log the driver's progress at debug level")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := o.check(); err != nil || fs.NArg() > 0 {
		if err == nil {
			err = fmt.Errorf("unexpected arguments %q", fs.Args())
		}
		fmt.Fprintln(stderr, "chekd-chaos:", err)
		return 2
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	log.Info("chaos run", "orders", o.orders, "shops", o.shops, "kills", o.kills, "seed", o.seed,
		"real_limit_shops", o.realLimit, "whole_seconds_shops", o.wholeSeconds, "timeout_fault", o.timeoutFault)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, o, log)
	if err != nil {
		fmt.Fprintln(stderr, "chekd-chaos:", err)
		if res.workDir != "" {
			fmt.Fprintln(stderr, "chekd-chaos: work dir kept:", res.workDir)
		}
		return 1
	}
	fmt.Fprintln(stdout, res.line())
	for _, p := range res.problems {
		fmt.Fprintln(stderr, "chekd-chaos:", p)
	}
	if res.workDir != "" {
		fmt.Fprintln(stderr, "chekd-chaos: work dir kept:", res.workDir)
	}
	if !res.ok() {
		fmt.Fprintf(stderr, "chekd-chaos: FAIL: extra=%d problems=%d (seed %d)\n", res.extra, len(res.problems), o.seed)
		return 1
	}
	return 0
}

func (o *options) check() error {
	switch {
	case o.orders < 1 || o.orders > 100000:
		return fmt.Errorf("-orders %d must be 1..100000", o.orders)
	case o.shops < 1 || o.shops > 50:
		return fmt.Errorf("-shops %d must be 1..50", o.shops)
	case o.kills < 0:
		return fmt.Errorf("-kills %d must not be negative", o.kills)
	case o.realLimit < 0 || o.realLimit > o.shops || o.wholeSeconds < 0 || o.wholeSeconds > o.shops:
		return fmt.Errorf("-real-limit (%d) and -whole-seconds (%d) must be 0..-shops (%d)", o.realLimit, o.wholeSeconds, o.shops)
	case o.minLife <= 0 || o.maxLife < o.minLife:
		return fmt.Errorf("-min-life %s and -max-life %s: want 0 < min ≤ max", o.minLife, o.maxLife)
	case o.stall < chekdRegisterTimeout+10*time.Second:
		return fmt.Errorf("-stall %s must outlast chekd's register timeout (%s) by 10 s", o.stall, chekdRegisterTimeout)
	case o.deadline <= 0:
		return fmt.Errorf("-deadline %s must be positive", o.deadline)
	}
	return nil
}
