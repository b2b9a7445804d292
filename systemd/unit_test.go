package systemd

import (
	"bufio"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const unitFile = "chekd.service"

// readUnit returns every Section.Key's values in file order.
func readUnit(t *testing.T) map[string][]string {
	t.Helper()
	f, err := os.Open(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: not a Key=Value line in a section: %q", unitFile, n, line)
			}
			out[section+"."+k] = append(out[section+"."+k], v)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestUnitDirectives(t *testing.T) {
	t.Parallel()
	u := readUnit(t)
	for key, want := range map[string]string{
		"Service.Type":                     "notify",
		"Service.WatchdogSec":              "60",
		"Service.DynamicUser":              "yes",
		"Service.StateDirectory":           "chekd",
		"Service.StateDirectoryMode":       "0700",
		"Service.ExecReload":               "/bin/kill -HUP $MAINPID",
		"Service.NotifyAccess":             "main",
		"Service.RestartPreventExitStatus": "2",
		"Service.NoNewPrivileges":          "yes",
		"Service.ProtectSystem":            "strict",
		"Install.WantedBy":                 "multi-user.target",
	} {
		if got := u[key]; !slices.Equal(got, []string{want}) {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	start := u["Service.ExecStart"]
	if len(start) != 1 || !regexp.MustCompile(`^/\S+/chekd run --config /etc/chekd/config.yaml$`).MatchString(start[0]) {
		t.Errorf("ExecStart = %q, want chekd run --config /etc/chekd/config.yaml", start)
	}
	creds := u["Service.LoadCredential"]
	if len(creds) == 0 {
		t.Fatal("no LoadCredential=: secrets would have to sit in files the service user can read")
	}
	for _, c := range creds {
		id, path, ok := strings.Cut(c, ":")
		if !ok || id == "" || !strings.HasPrefix(path, "/etc/chekd/") {
			t.Errorf("LoadCredential=%s: want ID:/etc/chekd/...", c)
		}
	}
	// The notify socket is AF_UNIX; InSales and the register need TCP.
	if fam := u["Service.RestrictAddressFamilies"]; !slices.Equal(fam, []string{"AF_UNIX AF_INET AF_INET6"}) {
		t.Errorf("RestrictAddressFamilies = %q", fam)
	}
}

func TestUnitSecurityExposure(t *testing.T) {
	t.Parallel()
	tool, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("SKIPPED: systemd-analyze is not installed, so the unit's hardening score was NOT checked " +
			"(apt-get install systemd, then run: systemd-analyze security --offline=yes systemd/chekd.service)")
	}
	out, err := exec.Command(tool, "security", "--offline=yes", unitFile).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for chekd\.service: (\d+\.\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no overall exposure level in:\n%s", out)
	}
	score, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	if score > 2.0 {
		t.Errorf("exposure %.1f, want at most 2.0:\n%s", score, out)
	}
}
