package config

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func parseFile(t *testing.T, name string, opts Options) *Config {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("../../testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse(data, opts)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return cfg
}

func expiryWarning(c *credentials, path string) string {
	return fmt.Sprintf("%s: the certificate expires on %s; get a new one from the Chekonline cabinet in time",
		path, c.notAfter.UTC().Format(time.DateOnly))
}

func TestMinimalConfigGetsDefaults(t *testing.T) {
	t.Parallel()
	creds := newCredentials(t)
	cfg := parseFile(t, "valid-01-minimal.yaml", creds.opts())
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings: %q", cfg.Warnings)
	}
	if cfg.DataDir != "/var/lib/chekd" || cfg.Log != (Log{"info", "text"}) ||
		cfg.HTTP.Listen != "127.0.0.1:8080" || cfg.Defaults.Schedule != "@every 1m" {
		t.Errorf("top-level defaults: %q %+v %+v %+v", cfg.DataDir, cfg.Log, cfg.HTTP, cfg.Defaults)
	}
	s := cfg.Shops[0]
	if s.Schedule != "@every 1m" || !s.StartFromTime.IsZero() || s.DryRun {
		t.Errorf("shop defaults: schedule %q start %v dry %v", s.Schedule, s.StartFromTime, s.DryRun)
	}
	// An unquoted 0123 is the text the merchant typed, not the number 83 or 123.
	if s.InSales.Password != "0123" || s.InSales.PerPage != 100 {
		t.Errorf("insales: password %q per_page %d", s.InSales.Password, s.InSales.PerPage)
	}
	r := s.Register
	if r.CashierPassword != 1 || r.Rate != 1 || r.MaxInFlight != 1 || r.MaxDocumentsInShift != 0 || r.CertificatePEM != nil {
		t.Errorf("register defaults: %+v", r)
	}
	rc := s.Receipts
	if rc.Scheme != "full_payment" || rc.FFD != "1.2" || rc.Contact != "email_then_phone" {
		t.Errorf("receipts defaults: %+v", rc)
	}
	if !slices.Equal(rc.GatewayIDs, []int64{123456}) || rc.GatewayTitles != nil {
		t.Errorf("gateways: %v %q", rc.GatewayIDs, rc.GatewayTitles)
	}
}

func TestFullConfig(t *testing.T) {
	t.Parallel()
	creds := newCredentials(t)
	cfg := parseFile(t, "valid-02-full.yaml", creds.opts())
	wantWarnings := []string{
		creds.expand("shops[0].register.key_password_file: $DIR/key-password can be read by group or others (mode 0640); run chmod 600 $DIR/key-password"),
		expiryWarning(creds, "shops[0].register.certificate_file"),
		"shops[0].receipts.vat_goods: vat20 is obsolete since 2026-01-01 (the general VAT rate is 22%); use vat22 (or vat122) unless the receipts are for sales made before 2026",
	}
	if !slices.Equal(cfg.Warnings, wantWarnings) {
		t.Errorf("warnings:\n  %s\nwant:\n  %s", strings.Join(cfg.Warnings, "\n  "), strings.Join(wantWarnings, "\n  "))
	}
	if cfg.DataDir != "/srv/chekd" || cfg.Log != (Log{"debug", "json"}) || cfg.HTTP.Listen != "0.0.0.0:9090" ||
		cfg.HTTP.Token != secretToken || cfg.Defaults.Schedule != "*/2 * * * *" {
		t.Errorf("top level: %q %+v %q %+v", cfg.DataDir, cfg.Log, cfg.HTTP.Listen, cfg.Defaults)
	}
	s := cfg.Shops[0]
	if s.Name != "shop-1" || s.Schedule != "@every 30s" {
		t.Errorf("shop: %q %q", s.Name, s.Schedule)
	}
	if want := time.Date(2026, 1, 15, 0, 0, 0, 0, time.FixedZone("", 3*3600)); !s.StartFromTime.Equal(want) {
		t.Errorf("start_from: %v, want %v", s.StartFromTime, want)
	}
	in := s.InSales
	if in.URL != "https://shop1.example.ru" || in.Password != secretInSalesFile || in.PerPage != 250 || in.OrderField != "Фискальный чек" {
		t.Errorf("insales: url %q per_page %d order_field %q, password from file: %v", in.URL, in.PerPage, in.OrderField, in.Password == secretInSalesFile)
	}
	r := s.Register
	if r.URL != "https://kkt.chekonline.ru" || r.Group != "shops" || r.ClientID != "shop-1" || r.CashierPassword != 30 ||
		r.MaxDocumentsInShift != 10000 || r.Rate != 0.5 || r.MaxInFlight != 2 || r.KeyPassword != secretKeyPassword {
		t.Errorf("register: %q %q %q %d %d %g", r.URL, r.Group, r.ClientID, r.CashierPassword, r.MaxDocumentsInShift, r.Rate)
	}
	if _, err := tls.X509KeyPair(r.CertificatePEM, r.CertificatePEM); err == nil {
		t.Error("the certificate file unexpectedly holds a key")
	}
	if !bytes.Contains(r.CertificatePEM, []byte("BEGIN CERTIFICATE")) ||
		!bytes.Contains(r.PrivateKeyPEM, []byte("BEGIN ENCRYPTED PRIVATE KEY")) ||
		!bytes.Contains(r.CAPEM, []byte("BEGIN CERTIFICATE")) {
		t.Errorf("PEM material not loaded: cert %d, key %d, ca %d bytes", len(r.CertificatePEM), len(r.PrivateKeyPEM), len(r.CAPEM))
	}
	rc := s.Receipts
	if rc.TaxSystem != "osn" || rc.VATGoods != "vat20" || rc.VATDelivery != "vat122" || rc.Scheme != "prepayment" ||
		rc.Contact != "phone" || rc.FFD != "1.05" || rc.Place != "https://shop1.example.ru" {
		t.Errorf("receipts: %+v", rc)
	}
	if !slices.Equal(rc.PrepaymentStatuses, []string{"paid"}) || !slices.Equal(rc.SaleStatuses, []string{"dispatched", "delivered"}) ||
		!slices.Equal(rc.RefundStatuses, []string{"returned"}) {
		t.Errorf("statuses: %q %q %q", rc.PrepaymentStatuses, rc.SaleStatuses, rc.RefundStatuses)
	}
	// A quoted number is a title, not a gateway id.
	if !slices.Equal(rc.GatewayIDs, []int64{123456}) || !slices.Equal(rc.GatewayTitles, []string{"Картой онлайн", "777"}) {
		t.Errorf("gateways: %v %q", rc.GatewayIDs, rc.GatewayTitles)
	}
	if !reflect.DeepEqual(rc.TaxIDs, map[string]int64{"vat22": 11, "vat122": 12}) {
		t.Errorf("tax_ids: %v", rc.TaxIDs)
	}
	for _, w := range cfg.Warnings {
		creds.assertNoSecret(t, "a warning", w)
	}
}

func TestKeyFormatsAndYAMLReuse(t *testing.T) {
	t.Parallel()
	creds := newCredentials(t)
	cfg := parseFile(t, "valid-03-key-formats.yaml", creds.opts())
	wantWarnings := []string{
		expiryWarning(creds, "shops[0].register.certificate_file"),
		expiryWarning(creds, "shops[1].register.certificate_file"),
		expiryWarning(creds, "shops[2].register.certificate_file"),
		creds.expand("shops[3].register.private_key_file: $DIR/client-open.key can be read by group or others (mode 0644); run chmod 600 $DIR/client-open.key"),
		expiryWarning(creds, "shops[3].register.certificate_file"),
	}
	if !slices.Equal(cfg.Warnings, wantWarnings) {
		t.Errorf("warnings:\n  %s\nwant:\n  %s", strings.Join(cfg.Warnings, "\n  "), strings.Join(wantWarnings, "\n  "))
	}
	if len(cfg.Shops) != 5 {
		t.Fatalf("%d shops", len(cfg.Shops))
	}
	bundle := cfg.Shops[0].Register
	if len(bundle.CertificatePEM) == 0 || bundle.PrivateKeyPEM != nil || bundle.KeyPassword != secretPKCS12Password {
		t.Errorf("PKCS#12 shop: cert %d bytes, key %d bytes", len(bundle.CertificatePEM), len(bundle.PrivateKeyPEM))
	}
	// The alias and the merge key share one receipts block; the merge may override.
	if got := cfg.Shops[1].Receipts; got.VATGoods != "vat22" || !slices.Equal(got.GatewayIDs, []int64{123456}) {
		t.Errorf("aliased receipts: %+v", got)
	}
	if got := cfg.Shops[2].Receipts; got.VATGoods != "vat10" || got.VATDelivery != "vat22" || got.TaxSystem != "osn" {
		t.Errorf("merged receipts: %+v", got)
	}
	if cfg.Shops[3].InSales.URL != "http://127.0.0.1:8081" {
		t.Errorf("loopback insales url: %q", cfg.Shops[3].InSales.URL)
	}
	if dry := cfg.Shops[4]; !dry.DryRun || dry.Register.CertificatePEM != nil {
		t.Errorf("dry-run shop: %+v", dry.Register)
	}
}

// TestExampleConfig proves config.example.yaml is valid once the files it
// names exist, and that it shows every key there is.
func TestExampleConfig(t *testing.T) {
	t.Parallel()
	creds := newCredentials(t)
	data, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// As systemd's LoadCredential=chekd:/etc/chekd/credentials names them.
	files := map[string]string{
		"chekd_myshop.crt":              "client.crt",
		"chekd_myshop.key":              "client.key",
		"chekd_myshop-insales-password": "insales-password",
	}
	var found []string
	opts := Options{
		CredentialsDir: "/run/credentials/chekd.service",
		ReadFile: func(p string) ([]byte, error) {
			if dir, name := filepath.Split(p); dir == "/run/credentials/chekd.service/" && files[name] != "" {
				found = append(found, name)
				return os.ReadFile(filepath.Join(creds.dir, files[name]))
			}
			return nil, fs.ErrNotExist
		},
		Stat: func(p string) (fs.FileInfo, error) { return nil, fs.ErrNotExist },
	}
	cfg, err := Parse(data, opts)
	if err != nil {
		t.Fatalf("config.example.yaml: %v", err)
	}
	if len(found) != len(files) {
		t.Errorf("read %q, want the %d files the example names", found, len(files))
	}
	if want := []string{expiryWarning(creds, "shops[0].register.certificate_file")}; !slices.Equal(cfg.Warnings, want) {
		t.Errorf("warnings: %q", cfg.Warnings)
	}
	if cfg.Shops[0].InSales.Password != secretInSalesFile {
		t.Error("the InSales password was not read from its credential file")
	}

	// Every key of Config appears (a secret either inline or as X_file).
	root, err := readYAML(data)
	if err != nil {
		t.Fatal(err)
	}
	d := newDecoder()
	d.decode("", root, reflect.ValueOf(&Config{}).Elem())
	for _, key := range allKeys(reflect.TypeOf(Config{}), "") {
		alt := strings.TrimSuffix(key, "_file")
		if alt == key {
			alt = key + "_file"
		}
		if !d.set[key] && !d.set[alt] && !strings.HasSuffix(key, "_file") {
			t.Errorf("config.example.yaml lacks %s", key)
		}
	}
}

// allKeys lists every key path of t, with [0] for lists.
func allKeys(t reflect.Type, prefix string) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("mapstructure")
		if tag == "" || tag == "-" {
			continue
		}
		p := join(prefix, tag)
		switch {
		case f.Type.Kind() == reflect.Struct:
			out = append(out, allKeys(f.Type, p)...)
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			out = append(out, allKeys(f.Type.Elem(), p+"[0]")...)
		default:
			out = append(out, p)
		}
	}
	return out
}

func TestRelativeFilesResolve(t *testing.T) {
	creds := newCredentials(t)
	confDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(confDir, "pw"), []byte("from-config-dir\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(confDir, "config.yaml")
	yaml := `
shops:
  - name: myshop
    insales: {url: https://myshop.myinsales.ru, api_key: k, password_file: pw}
    register: {url: "http://10.0.0.2:4444"}
    receipts: {tax_system: osn, vat_goods: vat22, vat_delivery: vat22, sale_statuses: [dispatched], payment_methods: [1]}
`
	if err := os.WriteFile(conf, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}

	// Without $CREDENTIALS_DIRECTORY: next to the config file.
	t.Setenv("CREDENTIALS_DIRECTORY", "")
	cfg, err := Load(conf)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Shops[0].InSales.Password; got != "from-config-dir" {
		t.Errorf("password %q, want the one next to the config file", got)
	}

	// With it (systemd LoadCredential=): there, and nowhere else.
	t.Setenv("CREDENTIALS_DIRECTORY", creds.dir)
	_, err = Load(conf)
	want := fmt.Sprintf("config: shops[0].insales.password_file: %s does not exist; fix the path (a relative path resolves against $CREDENTIALS_DIRECTORY, else the config file's directory)",
		filepath.Join(creds.dir, "pw"))
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

func TestCredentialPrefix(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	yaml := func(file string) []byte {
		return []byte(`
shops:
  - name: myshop
    insales: {url: https://myshop.myinsales.ru, api_key: k, password_file: ` + file + `}
    register: {url: "http://10.0.0.2:4444"}
    receipts: {tax_system: osn, vat_goods: vat22, vat_delivery: vat22, sale_statuses: [dispatched], payment_methods: [1]}
`)
	}
	password := func(file string) string {
		t.Helper()
		cfg, err := Parse(yaml(file), Options{CredentialsDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		return cfg.Shops[0].InSales.Password
	}
	write("chekd_only-prefixed", "prefixed")
	if got := password("only-prefixed"); got != "prefixed" {
		t.Errorf("systemd's chekd_ name not found: %q", got)
	}
	write("both", "plain")
	write("chekd_both", "prefixed")
	if got := password("both"); got != "plain" {
		t.Errorf("the name as written must win: %q", got)
	}
	if got := password("chekd_both"); got != "prefixed" {
		t.Errorf("a chekd_ name written out: %q", got)
	}
	_, err := Parse(yaml("sub/none"), Options{CredentialsDir: dir})
	want := "config: shops[0].insales.password_file: " + filepath.Join(dir, "sub/none") +
		" does not exist; fix the path (a relative path resolves against $CREDENTIALS_DIRECTORY, else the config file's directory)"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

func TestLoadWarnsAboutReadableInlineSecrets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	conf := filepath.Join(dir, "config.yaml")
	yaml := `
shops:
  - name: myshop
    insales: {url: https://myshop.myinsales.ru, api_key: k, password: ` + secretInSalesPassword + `}
    register: {url: "http://10.0.0.2:4444"}
    receipts: {tax_system: osn, vat_goods: vat22, vat_delivery: vat22, sale_statuses: [dispatched], payment_methods: [1]}
`
	if err := os.WriteFile(conf, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(conf)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("0600 file: warnings %q", cfg.Warnings)
	}
	if err := os.Chmod(conf, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err = Load(conf)
	if err != nil {
		t.Fatal(err)
	}
	want := conf + " can be read by every user of this machine and holds secrets written inline; move them to *_file settings or run chmod o-r " + conf
	if !slices.Equal(cfg.Warnings, []string{want}) {
		t.Errorf("warnings %q, want %q", cfg.Warnings, want)
	}
	if strings.Contains(cfg.Warnings[0], secretInSalesPassword) {
		t.Error("the warning shows the password")
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	var probs Problems
	if err == nil || errors.As(err, &probs) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want a wrapped not-exist error", err)
	}
	if !strings.Contains(err.Error(), "$CHEKD_CONFIG") {
		t.Errorf("the error does not say how to fix it: %v", err)
	}
}

// TestSecretsNeverShown puts every secret where validation must complain
// about it and checks the messages and warnings.
func TestSecretsNeverShown(t *testing.T) {
	t.Parallel()
	creds := newCredentials(t)
	inline := func(key string, pem []byte) string {
		return key + ": |\n" + indent(string(pem), "        ")
	}
	rsaKey, err := os.ReadFile(filepath.Join(creds.dir, "client-rsa.key"))
	if err != nil {
		t.Fatal(err)
	}
	encKey, err := os.ReadFile(filepath.Join(creds.dir, "client-enc.key"))
	if err != nil {
		t.Fatal(err)
	}
	yaml := `
http: {listen: "[::]:80", token: ` + secretShortToken + `}
shops:
  - name: myshop
    insales: {url: "https://u:` + secretURLPassword + `@x.myinsales.ru", api_key: k, password: ` + secretInSalesPassword + `, password_file: pw}
    register:
      url: https://kkt.chekonline.ru
      certificate_file: client.crt
      ` + inline("private_key", rsaKey) + `
      key_password: ` + secretKeyPassword + `
      cashier_password: ` + secretWrongKeyPass + `
    receipts: {tax_system: osn, vat_goods: vat22, vat_delivery: vat22, sale_statuses: [dispatched], payment_methods: [1]}
  - name: second
    insales: {url: "https://second.myinsales.ru", api_key: k, password: [` + secretInSalesPassword + `]}
    register:
      url: https://kkt.chekonline.ru
      certificate_file: client.crt
      ` + inline("private_key", encKey) + `
      key_password: {` + secretKeyPassword + `: 1}
    receipts: {tax_system: osn, vat_goods: vat22, vat_delivery: vat22, sale_statuses: [dispatched], payment_methods: [1]}
  - name: third
    insales: {url: "https://third.myinsales.ru", api_key: k, password: p}
    register:
      url: https://kkt.chekonline.ru
      certificate_file: client.crt
      ` + inline("private_key", encKey) + `
      key_password: ` + secretWrongKeyPass + `
    receipts: {tax_system: osn, vat_goods: vat22, vat_delivery: vat22, sale_statuses: [dispatched], payment_methods: [1]}
`
	_, err = Parse([]byte(yaml), creds.opts())
	var probs Problems
	if !errors.As(err, &probs) {
		t.Fatalf("err = %v", err)
	}
	// Each shop must have been checked as far as its secrets go.
	for _, want := range []string{
		"http.token: shorter than",
		"shops[0].insales.url: must not hold a user name or password",
		"shops[0].insales.password: set password or password_file, not both",
		"shops[0].register.private_key: the private key does not belong to the certificate",
		"shops[0].register.cashier_password: must be a whole number, not a value",
		"shops[1].insales.password: must be a single value",
		"shops[1].register.key_password: must be a single value",
		"shops[2].register.key_password: does not decrypt the private key",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("no problem %q in:\n%v", want, err)
		}
	}
	creds.assertNoSecret(t, "the error", err.Error())
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return prefix + strings.Join(lines, "\n"+prefix) + "\n"
}

func TestProblemsError(t *testing.T) {
	t.Parallel()
	if got := (Problems{"a: b"}).Error(); got != "config: a: b" {
		t.Errorf("one problem: %q", got)
	}
	if got := (Problems{"a: b", "c: d"}).Error(); got != "config: 2 problems:\n  a: b\n  c: d" {
		t.Errorf("two problems: %q", got)
	}
}
