// Package cli is chekd's command tree: it parses flags, loads the config and
// hands over to the daemon. It must never print a secret.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/chekd/chekd/daemon/config"
)

// Version is stamped at build time with -ldflags "-X github.com/chekd/chekd/daemon/cli.Version=…".
var Version = "dev"

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1 // runtime failure
	ExitUsage   = 2 // bad usage or bad config
)

// usageError marks an error that should exit with ExitUsage.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// Execute runs the command line and returns the process exit code.
func Execute(args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(stderr, "chekd:", err)
	var ue usageError
	var probs config.Problems
	if errors.As(err, &ue) || errors.As(err, &probs) {
		return ExitUsage
	}
	return ExitFailure
}

type globals struct {
	configPath string
	stdout     io.Writer
	stderr     io.Writer
}

// configFile is --config, else $CHEKD_CONFIG, else the default path.
func (g *globals) configFile() string {
	if g.configPath != "" {
		return g.configPath
	}
	if p := os.Getenv("CHEKD_CONFIG"); p != "" {
		return p
	}
	return config.DefaultPath
}

func (g *globals) loadConfig() (*config.Config, error) {
	path := g.configFile()
	cfg, err := config.Load(path)
	if err != nil {
		var probs config.Problems
		if errors.As(err, &probs) {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return nil, usageError{err}
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintln(g.stderr, "chekd: warning:", w)
	}
	return cfg, nil
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "chekd",
		Short:         "Prints 54-ФЗ fiscal receipts for InSales orders on a Chekonline register",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.PersistentFlags().StringVar(&g.configPath, "config", "", "config file (default $CHEKD_CONFIG, else "+config.DefaultPath+")")
	root.AddCommand(
		newVersionCmd(g),
		newCheckConfigCmd(g),
		newRunCmd(g),
		newTestConnectionCmd(g),
		newDiscoverCmd(g),
		newReceiptsCmd(g),
		newRetryCmd(g),
		newBackupCmd(g),
		newDemoCmd(g),
	)
	return root
}

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print chekd's version",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintln(g.stdout, "chekd", Version)
			return nil
		},
	}
}

func newCheckConfigCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "check-config",
		Short: "Validate the config file and report every problem",
		Long: "check-config reads the config file (--config, else $CHEKD_CONFIG, else " + config.DefaultPath + "),\n" +
			"loads every certificate, key and secret file it names, and prints every problem at once.\n" +
			"It exits 0 when chekd can run with it (warnings included), 2 when it cannot.",
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			names := make([]string, len(cfg.Shops))
			for i, s := range cfg.Shops {
				names[i] = s.Name
				if s.DryRun {
					names[i] += " (dry run)"
				}
			}
			fmt.Fprintf(g.stdout, "%s: ok: %d shop(s): %s; %d warning(s)\n",
				g.configFile(), len(cfg.Shops), strings.Join(names, ", "), len(cfg.Warnings))
			return nil
		},
	}
}

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("%s takes no arguments, got %q", cmd.CommandPath(), args)}
	}
	return nil
}
