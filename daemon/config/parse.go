package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
)

// Options says where secret files live. The zero value reads files from the
// real file system and takes $CREDENTIALS_DIRECTORY from the environment.
type Options struct {
	// CredentialsDir resolves relative X_file paths; empty means
	// $CREDENTIALS_DIRECTORY, then the config file's own directory.
	CredentialsDir string
	// BaseDir is the directory of the config file, for relative paths when no
	// credentials directory is set.
	BaseDir string
	// ReadFile reads a file; nil means os.ReadFile.
	ReadFile func(string) ([]byte, error)
	// Stat reports a file's mode for the permission warning; nil means os.Stat.
	Stat func(string) (os.FileInfo, error)
}

// Problems is every validation problem found, in file order.
type Problems []string

func (p Problems) Error() string {
	if len(p) == 1 {
		return "config: " + p[0]
	}
	return fmt.Sprintf("config: %d problems:\n  %s", len(p), strings.Join(p, "\n  "))
}

// Load reads and validates the config file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w (set --config or $CHEKD_CONFIG to the config file)", err)
	}
	return Parse(data, Options{BaseDir: filepath.Dir(path)})
}

// Parse decodes and validates a YAML config. On failure the error is
// Problems, listing every problem at once.
func Parse(data []byte, opts Options) (*Config, error) {
	if opts.ReadFile == nil {
		opts.ReadFile = os.ReadFile
	}
	if opts.Stat == nil {
		opts.Stat = os.Stat
	}
	if opts.CredentialsDir == "" {
		opts.CredentialsDir = os.Getenv("CREDENTIALS_DIRECTORY")
	}
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
		return nil, Problems{fmt.Sprintf("not valid YAML: %s", yamlErr(err))}
	}
	var cfg Config
	var md mapstructure.Metadata
	err := v.Unmarshal(&cfg, func(dc *mapstructure.DecoderConfig) {
		dc.Metadata = &md
		dc.WeaklyTypedInput = false
		dc.ErrorUnused = false
	})
	var probs Problems
	if err != nil {
		probs = append(probs, decodeProblems(err)...)
	}
	unused := append([]string(nil), md.Unused...)
	sort.Strings(unused)
	for _, k := range unused {
		probs = append(probs, fmt.Sprintf("%s: unknown key (check its spelling against config.example.yaml)", k))
	}
	if len(probs) > 0 {
		return nil, probs
	}
	applyDefaults(&cfg)
	if probs := validate(&cfg, opts); len(probs) > 0 {
		return nil, probs
	}
	return &cfg, nil
}

// yamlErr shortens the YAML parser's error to its useful part.
func yamlErr(err error) string {
	s := err.Error()
	if i := strings.Index(s, "yaml: "); i >= 0 {
		s = s[i:]
	}
	return s
}

// decodeProblems splits mapstructure's combined error into one line a problem.
func decodeProblems(err error) []string {
	var out []string
	for _, line := range strings.Split(err.Error(), "\n") {
		line = strings.TrimSpace(line)
		line = strings.TrimPrefix(line, "* ")
		if line == "" || strings.HasPrefix(line, "decoding failed") || strings.HasSuffix(line, "error(s) decoding:") {
			continue
		}
		out = append(out, line)
	}
	if len(out) == 0 {
		out = append(out, err.Error())
	}
	return out
}

func applyDefaults(c *Config) {
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "text"
	}
	if c.HTTP.Listen == "" {
		c.HTTP.Listen = "127.0.0.1:8080"
	}
	if c.Defaults.Schedule == "" {
		c.Defaults.Schedule = "@every 1m"
	}
	for i := range c.Shops {
		s := &c.Shops[i]
		if s.Schedule == "" {
			s.Schedule = c.Defaults.Schedule
		}
		if s.InSales.PerPage == 0 {
			s.InSales.PerPage = 100
		}
		if s.Register.CashierPassword == 0 {
			s.Register.CashierPassword = 1
		}
		if s.Register.Rate == 0 {
			s.Register.Rate = 1
		}
		if s.Receipts.Contact == "" {
			s.Receipts.Contact = "email_then_phone"
		}
	}
}
