package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/chekd/chekd/daemon"
	"github.com/chekd/chekd/daemon/config"
	"github.com/chekd/chekd/daemon/status"
)

func newRunCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Run the daemon: poll every shop and print its receipts",
		Long: `Run polls every configured shop on its schedule, prints the receipts its orders need,
and serves the status page and API on http.listen.

Signals: SIGTERM or SIGINT stop it gracefully (requests already at a register finish
first); SIGHUP reloads the config (a config with errors is refused and the old one
keeps running).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			log := daemon.NewLogger(cfg.Log, g.stderr)
			return runDaemon(cmd.Context(), g, cfg, log, daemon.Options{})
		},
	}
}

// runDaemon runs chekd until SIGTERM/SIGINT, reloading on SIGHUP.
func runDaemon(ctx context.Context, g *globals, cfg *config.Config, log *slog.Logger, opts daemon.Options) error {
	if ctx == nil {
		ctx = context.Background()
	}
	opts.Logger = log
	opts.Version = Version
	d, err := daemon.New(cfg, opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		_ = d.Close()
		return fmt.Errorf("status endpoint: listen on http.listen %s: %w (is another chekd running, or is the port taken?)", cfg.HTTP.Listen, err)
	}
	srv := &http.Server{
		Handler:           status.New(d, status.Options{Token: cfg.HTTP.Token, Listen: cfg.HTTP.Listen, Logger: log}),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("status endpoint stopped", "err", err)
		}
	}()
	log.Info("status endpoint listening", "addr", ln.Addr().String())

	runCtx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-runCtx.Done():
				return
			case <-hup:
				reload(g, d, log)
			}
		}
	}()

	runErr := d.Run(runCtx)
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutCtx)
	if runErr != nil {
		return runErr
	}
	log.Info("chekd stopped")
	return nil
}

// reload reads the config file again and applies it; a config with errors is
// refused with every problem logged, and the running one stays.
func reload(g *globals, d *daemon.Daemon, log *slog.Logger) {
	log.Info("SIGHUP: reloading the config", "file", g.configFile())
	cfg, err := config.Load(g.configFile())
	if err != nil {
		var probs config.Problems
		if errors.As(err, &probs) {
			for _, p := range probs {
				log.Error("config rejected; the running config stays", "problem", p)
			}
		} else {
			log.Error("config rejected; the running config stays", "err", err)
		}
		return
	}
	for _, w := range cfg.Warnings {
		log.Warn("config", "warning", w)
	}
	if err := d.Reload(cfg); err != nil {
		log.Error("reload failed", "err", err)
	}
}
