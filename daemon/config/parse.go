package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
)

// Options says where secret files live. The zero value reads files from the
// real file system and takes $CREDENTIALS_DIRECTORY from the environment.
type Options struct {
	// CredentialsDir resolves relative X_file paths; empty means
	// $CREDENTIALS_DIRECTORY, then BaseDir.
	CredentialsDir string
	// BaseDir is the directory of the config file, for relative paths when no
	// credentials directory is set. Empty means the working directory.
	BaseDir string
	// ReadFile reads a file; nil means os.ReadFile.
	ReadFile func(string) ([]byte, error)
	// Stat reports a file's mode for the permission warning; nil means os.Stat.
	Stat func(string) (os.FileInfo, error)
	// Now is the clock for certificate expiry checks; nil means time.Now.
	Now func() time.Time
}

// Problems is every problem found in a config: first those of reading
// (YAML syntax, unknown keys, wrong types), then broken rules, each naming
// the key path and the fix. It never quotes a secret.
type Problems []string

func (p Problems) Error() string {
	if len(p) == 1 {
		return "config: " + p[0]
	}
	return fmt.Sprintf("config: %d problems:\n  %s", len(p), strings.Join(p, "\n  "))
}

// Load reads and validates the config file at path. Relative X_file paths
// resolve against $CREDENTIALS_DIRECTORY when set, else the file's directory.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w (set --config or $CHEKD_CONFIG to the config file)", err)
	}
	dir := filepath.Dir(path)
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs // messages then name files unambiguously
	}
	cfg, err := Parse(data, Options{BaseDir: dir})
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o004 != 0 && cfg.hasInlineSecret() {
		cfg.Warnings = append(cfg.Warnings, fmt.Sprintf(
			"%s can be read by every user of this machine and holds secrets written inline; move them to *_file settings or run chmod o-r %s",
			path, path))
	}
	return cfg, nil
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
	root, err := readYAML(data)
	if err != nil {
		return nil, Problems{err.Error()}
	}
	var cfg Config
	d := newDecoder()
	if root != nil {
		d.decode("", root, reflect.ValueOf(&cfg).Elem())
	}
	overlayEnvironment(&cfg, d.set)
	v := &validator{cfg: &cfg, opts: opts, set: d.set, bad: d.bad}
	v.run()
	probs := append(d.probs, v.probs...)
	if len(probs) > 0 {
		return nil, probs
	}
	cfg.Warnings = v.warnings
	return &cfg, nil
}

// envKeys are the settings that a CHEKD_* environment variable may override,
// e.g. CHEKD_LOG_LEVEL=debug in a systemd drop-in, or CHEKD_HTTP_TOKEN_FILE.
// Shops are configured in the file only.
var envKeys = []struct {
	key   string
	field func(*Config) *string
}{
	{"data_dir", func(c *Config) *string { return &c.DataDir }},
	{"log.level", func(c *Config) *string { return &c.Log.Level }},
	{"log.format", func(c *Config) *string { return &c.Log.Format }},
	{"http.listen", func(c *Config) *string { return &c.HTTP.Listen }},
	{"http.token", func(c *Config) *string { return &c.HTTP.Token }},
	{"http.token_file", func(c *Config) *string { return &c.HTTP.TokenFile }},
	{"defaults.schedule", func(c *Config) *string { return &c.Defaults.Schedule }},
}

// overlayEnvironment applies CHEKD_* variables over the file's values through
// viper's environment binding (CHEKD_ prefix, dots become underscores). A
// variable that is set wins over the file and is validated like it.
func overlayEnvironment(cfg *Config, set map[string]bool) {
	v := viper.New()
	v.SetEnvPrefix("chekd")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AllowEmptyEnv(false)
	for _, k := range envKeys {
		if err := v.BindEnv(k.key); err != nil {
			continue
		}
		if v.IsSet(k.key) {
			*k.field(cfg) = v.GetString(k.key)
			set[k.key] = true
		}
	}
}

// readYAML parses exactly one YAML document; nil means an empty file.
func readYAML(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, fmt.Errorf("not valid YAML: %s", yamlErr(err))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("the file holds more than one YAML document (a second ---); keep one")
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		return doc.Content[0], nil
	}
	return nil, nil
}

// yamlErr shortens the YAML parser's error to its useful part.
func yamlErr(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "yaml: ")
	return s
}

// hasInlineSecret reports whether a secret is written in the file itself
// rather than read from a *_file.
func (c *Config) hasInlineSecret() bool {
	if c.HTTP.Token != "" && c.HTTP.TokenFile == "" {
		return true
	}
	for _, s := range c.Shops {
		if s.InSales.PasswordFile == "" && s.InSales.Password != "" ||
			s.Register.PrivateKeyFile == "" && s.Register.PrivateKey != "" ||
			s.Register.KeyPasswordFile == "" && s.Register.KeyPassword != "" {
			return true
		}
	}
	return false
}
