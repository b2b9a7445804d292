package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"fmt"
)

func TestDump(t *testing.T) {
	c := newCredentials(t)
	files, _ := filepath.Glob("../../testdata/*.yaml")
	for _, f := range files {
		data, _ := os.ReadFile(f)
		cfg, err := Parse(data, c.opts())
		fmt.Printf("== %s\n", filepath.Base(f))
		if err != nil {
			for _, p := range err.(Problems) { fmt.Printf("   %q,\n", strings.ReplaceAll(p, c.dir, "$DIR")) }
		} else {
			fmt.Printf("   OK warnings=%q\n", cfg.Warnings)
		}
	}
}
