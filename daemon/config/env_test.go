package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Not parallel: it sets the process environment.
func TestEnvironmentOverridesFile(t *testing.T) {
	creds := newCredentials(t)
	t.Setenv("CHEKD_LOG_LEVEL", "debug")
	t.Setenv("CHEKD_HTTP_LISTEN", "127.0.0.1:9191")
	t.Setenv("CHEKD_DEFAULTS_SCHEDULE", "@every 5m")
	cfg := parseFile(t, "valid-01-minimal.yaml", creds.opts())
	if cfg.Log.Level != "debug" || cfg.HTTP.Listen != "127.0.0.1:9191" || cfg.Defaults.Schedule != "@every 5m" {
		t.Fatalf("environment not applied: log %+v listen %q schedule %q", cfg.Log, cfg.HTTP.Listen, cfg.Defaults.Schedule)
	}
	if cfg.Shops[0].Schedule != "@every 5m" {
		t.Errorf("a shop without its own schedule takes the overridden default, got %q", cfg.Shops[0].Schedule)
	}

	// A bad value from the environment is a problem like a bad value in the file.
	t.Setenv("CHEKD_LOG_LEVEL", "loud")
	data := readTestdata(t, "valid-01-minimal.yaml")
	_, err := Parse(data, creds.opts())
	if err == nil || !strings.Contains(err.Error(), "log.level") {
		t.Fatalf("want a log.level problem, got %v", err)
	}
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("../../testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}
