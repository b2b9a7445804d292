// Command chekd-fakes serves fake InSales shops and a fake Chekonline
// register (TLS, client certificate required) as a process of its own, with
// a JSON control API, so that chekd can be run, killed and restarted against
// them while the register's answer cache and ledger live on. It prints one
// JSON line (fakes.Ready) on stdout when it serves, and stops on SIGINT,
// SIGTERM or, with -exit-with-stdin, when its standard input closes (so it
// never outlives the process that started it).
//
// It must never serve anything but loopback addresses and never print a
// secret: the shops' passwords and the client key are written to files in
// -dir, readable by their owner only.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/chekd/chekd/cmd/chekd-fakes/fakes"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chekd-fakes", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		opts          fakes.Options
		verbose       bool
		exitWithStdin bool
	)
	fs.StringVar(&opts.Dir, "dir", "", "directory for the CA, client certificate, client key and shop password files (required)")
	fs.IntVar(&opts.Shops, "shops", 3, "number of fake shops (shop1, shop2, ...)")
	fs.IntVar(&opts.RealLimit, "real-limit", 1, "how many shops, from the first, keep InSales' real limit of 500 requests per 5 minutes")
	fs.IntVar(&opts.FastRate, "fast-rate", 100000, "requests per 5 minutes the other shops allow")
	fs.IntVar(&opts.WholeSeconds, "whole-seconds", 1, "how many shops, from the last, write updated_at in whole seconds")
	fs.DurationVar(&opts.RetryAfter, "retry-after", time.Second, "Retry-After of injected 429/503 faults")
	fs.BoolVar(&verbose, "v", false, "log at debug level")
	fs.BoolVar(&exitWithStdin, "exit-with-stdin", false, "exit when standard input closes")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "chekd-fakes: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if opts.Dir == "" {
		fmt.Fprintln(stderr, "chekd-fakes: -dir is required")
		return 2
	}
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	opts.Logger = log

	w, err := fakes.Start(opts)
	if err != nil {
		fmt.Fprintln(stderr, "chekd-fakes:", err)
		return 1
	}
	defer w.Close()
	if _, err := w.ServeControl(); err != nil {
		fmt.Fprintln(stderr, "chekd-fakes:", err)
		return 1
	}
	line, err := json.Marshal(w.Ready())
	if err != nil {
		fmt.Fprintln(stderr, "chekd-fakes: encode the ready line:", err)
		return 1
	}
	if _, err := fmt.Fprintf(stdout, "%s\n", line); err != nil {
		fmt.Fprintln(stderr, "chekd-fakes: write the ready line:", err)
		return 1
	}
	r := w.Ready()
	log.Info("serving", "control", r.Control, "register", r.Register, "shops", len(r.Shops),
		"real_limit_shops", opts.RealLimit, "fast_rate", opts.FastRate, "whole_seconds_shops", opts.WholeSeconds)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if exitWithStdin {
		go func() {
			_, _ = io.Copy(io.Discard, stdin)
			stop()
		}()
	}
	<-ctx.Done()
	log.Info("stopping")
	return 0
}
