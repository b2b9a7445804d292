package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzParse feeds arbitrary bytes to Parse: it must never panic, must fail
// only with Problems, must hand back only configs that keep the rules, and
// must never echo a value written under a secret key.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("../../testdata/*.yaml")
	seeds = append(seeds, "../../config.example.yaml")
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(""))
	f.Add([]byte("shops: [{name: a, insales: {password: 12}}]"))
	f.Add([]byte("http: {token: &t x}\nshops: [{register: {key_password: *t}}]"))
	f.Add([]byte("a: &a [*a]"))

	opts := Options{
		CredentialsDir: "/nonexistent/credentials",
		ReadFile:       func(string) ([]byte, error) { return nil, fs.ErrNotExist },
		Stat:           func(string) (fs.FileInfo, error) { return nil, fs.ErrNotExist },
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, opts)
		checkResult(t, cfg, err)

		// Put markers under every secret key and check they never show.
		if bytes.Contains(data, []byte("zqSECRET")) {
			return
		}
		var root yaml.Node
		if yaml.Unmarshal(data, &root) != nil {
			return
		}
		n := 0
		markSecrets(&root, &n, 0)
		if n == 0 {
			return
		}
		marked, err := yaml.Marshal(&root)
		if err != nil {
			return
		}
		cfg, err = Parse(marked, opts)
		checkResult(t, cfg, err)
		var out strings.Builder
		if err != nil {
			out.WriteString(err.Error())
		} else {
			out.WriteString(strings.Join(cfg.Warnings, "\n"))
		}
		if strings.Contains(out.String(), "zqSECRET") {
			t.Fatalf("a secret value shows in:\n%s\ninput:\n%s", out.String(), marked)
		}
	})
}

// markSecrets replaces the scalar value of every secret key with a marker.
func markSecrets(n *yaml.Node, count *int, depth int) {
	if n == nil || depth > 50 {
		return
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && isSecretKey(k.Value) && v.Kind == yaml.ScalarNode {
				*count++
				v.Value = fmt.Sprintf("zqSECRET%dwx", *count)
				v.Tag = "!!str"
				v.Style = yaml.DoubleQuotedStyle
			}
		}
	}
	for _, c := range n.Content {
		markSecrets(c, count, depth+1)
	}
}

func checkResult(t *testing.T, cfg *Config, err error) {
	t.Helper()
	if err != nil {
		var probs Problems
		if !errors.As(err, &probs) || len(probs) == 0 || cfg != nil {
			t.Fatalf("Parse returned %v (%T) and %v", err, err, cfg)
		}
		return
	}
	if len(cfg.Shops) == 0 {
		t.Fatal("a config without shops passed")
	}
	names := map[string]bool{}
	for _, s := range cfg.Shops {
		r := s.Register
		if names[s.Name] || !shopName.MatchString(s.Name) || r.CashierPassword < 1 || r.CashierPassword > 31 ||
			!(r.Rate > 0) || r.MaxDocumentsInShift < 0 || r.MaxDocumentsInShift > 10000 ||
			len(s.Receipts.SaleStatuses) == 0 || len(s.Receipts.GatewayIDs)+len(s.Receipts.GatewayTitles) == 0 {
			t.Fatalf("a config breaking the rules passed: %+v", s)
		}
		names[s.Name] = true
	}
}
