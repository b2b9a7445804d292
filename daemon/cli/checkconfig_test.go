package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	cliSecretPassword = "Pw-Cli-8e7d6c5b"
	cliSecretKeyPass  = "Kp-Cli-1a2b3c4d"
	cliSecretToken    = "Tk-Cli-short"
)

func writeCheckConfig(t *testing.T, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func execCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Execute(args, &out, &errb)
	return code, out.String(), errb.String()
}

const badCheckConfig = `
log: {level: loud}
http: {listen: "0.0.0.0:8080", token: ` + cliSecretToken + `}
shops:
  - name: Shop One
    insales:
      url: http://shop.example.ru
      api_key: k
      password: ` + cliSecretPassword + `
      password_file: pw
    register:
      url: https://kkt.chekonline.ru
      key_password: ` + cliSecretKeyPass + `
      cashier_password: 0
    receipts:
      tax_system: osn
      vat_goods: vat18
      vat_delivery: vat22
      sale_statuses: [dispatched]
      refund_statuses: [dispatched]
      payment_methods: []
`

func TestCheckConfigReportsEveryProblem(t *testing.T) {
	t.Parallel()
	path := writeCheckConfig(t, badCheckConfig)
	code, stdout, stderr := execCLI(t, "check-config", "--config", path)
	if code != ExitUsage {
		t.Errorf("exit code %d, want %d", code, ExitUsage)
	}
	if stdout != "" {
		t.Errorf("stdout: %q", stdout)
	}
	want := "chekd: " + path + `: config: 10 problems:
  log.level: unknown level "loud" (one of: debug, info, warn, error)
  http.token: shorter than 16 characters; use a long random value (e.g. from: openssl rand -hex 16)
  shops[0].name: "Shop One" must be 1..32 characters of a-z, 0-9 and -, like myshop
  shops[0].insales.url: must use https:// (http:// is allowed only for this machine, e.g. a test server on 127.0.0.1)
  shops[0].insales.password: set password or password_file, not both
  shops[0].register.cashier_password: must be 1..31 («Пароль кассира»; it is 1 unless the register was set up otherwise)
  shops[0].register.certificate_file: required for an https register: the certificate (.crt/.pem) from the Chekonline cabinet, or certificate: with the PEM inline
  shops[0].receipts.vat_goods: unknown rate "vat18" (one of: vat22, vat122, vat20, vat120, vat10, vat110, vat5, vat105, vat7, vat107, vat0, none)
  shops[0].receipts.refund_statuses: "dispatched" is also in sale_statuses; a status may start one kind of receipt only
  shops[0].receipts.payment_methods: required: the cashless payment methods to print receipts for, as gateway ids (numbers) or exact titles (text), like [123456, "Картой онлайн"]
`
	if stderr != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", stderr, want)
	}
	for _, s := range []string{cliSecretPassword, cliSecretKeyPass, cliSecretToken} {
		if strings.Contains(stdout+stderr, s) {
			t.Errorf("the output shows the secret %q", s)
		}
	}
}

const goodCheckConfig = `
shops:
  - name: myshop
    insales: {url: https://myshop.myinsales.ru, api_key: k, password: ` + cliSecretPassword + `}
    register: {url: "http://10.0.0.7:4444"}
    receipts: {tax_system: osn, vat_goods: vat20, vat_delivery: vat22, sale_statuses: [dispatched], payment_methods: [1]}
  - name: trying
    dry_run: true
    insales: {url: https://trying.myinsales.ru, api_key: k, password: ` + cliSecretPassword + `}
    register: {url: "https://kkt.chekonline.ru"}
    receipts: {tax_system: osn, vat_goods: vat22, vat_delivery: vat22, sale_statuses: [dispatched], payment_methods: [1]}
`

func TestCheckConfigOK(t *testing.T) {
	t.Parallel()
	path := writeCheckConfig(t, goodCheckConfig)
	code, stdout, stderr := execCLI(t, "check-config", "--config", path)
	if code != ExitOK {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr)
	}
	if want := path + ": ok: 2 shop(s): myshop, trying (dry run); 1 warning(s)\n"; stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
	if want := "chekd: warning: shops[0].receipts.vat_goods: vat20 is obsolete since 2026-01-01 (the general VAT rate is 22%); use vat22 (or vat122) unless the receipts are for sales made before 2026\n"; stderr != want {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
	if strings.Contains(stdout+stderr, cliSecretPassword) {
		t.Error("the output shows the password")
	}
}

// TestConfigFromEnvironment is not parallel: it sets $CHEKD_CONFIG.
func TestConfigFromEnvironment(t *testing.T) {
	good := writeCheckConfig(t, goodCheckConfig)
	bad := writeCheckConfig(t, badCheckConfig)
	t.Setenv("CHEKD_CONFIG", bad)
	if code, _, stderr := execCLI(t, "check-config"); code != ExitUsage || !strings.Contains(stderr, bad) {
		t.Errorf("$CHEKD_CONFIG: exit %d, stderr %q", code, stderr)
	}
	// --config wins over the environment.
	if code, stdout, _ := execCLI(t, "check-config", "--config", good); code != ExitOK || !strings.HasPrefix(stdout, good) {
		t.Errorf("--config: exit %d, stdout %q", code, stdout)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"check-config", "--config", missing}, "no such file or directory (set --config or $CHEKD_CONFIG to the config file)"},
		{[]string{"check-config", "extra"}, `takes no arguments, got ["extra"]`},
		{[]string{"check-config", "--no-such-flag"}, "unknown flag: --no-such-flag"},
		{[]string{"version", "x"}, "takes no arguments"},
	} {
		code, stdout, stderr := execCLI(t, tc.args...)
		if code != ExitUsage || stdout != "" || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit %d and %q", tc.args, code, stdout, stderr, ExitUsage, tc.want)
		}
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := execCLI(t, "version")
	if code != ExitOK || stdout != "chekd "+Version+"\n" || stderr != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
