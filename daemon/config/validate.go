package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/robfig/cron/v3"
	"golang.org/x/text/encoding/charmap"

	"github.com/chekd/chekd/fiscal/certs"
)

// Defaults written into a Config by Parse for keys left out.
const (
	DefaultDataDir  = "/var/lib/chekd"
	DefaultListen   = "127.0.0.1:8080"
	DefaultSchedule = "@every 1m"
	DefaultPerPage  = 100
	MaxPerPage      = 250
	// MaxInFlight bounds register.max_in_flight: a register prints one
	// document at a time, so more only queues at the balancer.
	MaxInFlight = 16
	// MinTokenLength is the shortest http.token accepted.
	MinTokenLength = 16
	// DefaultRegisterTimeout bounds one register request when
	// register.timeout is left out.
	DefaultRegisterTimeout = 60 * time.Second
)

var shopName = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)

// validator checks every rule, fills defaults and loaded files into cfg,
// and collects problems and warnings.
type validator struct {
	cfg      *Config
	opts     Options
	set      map[string]bool   // key paths written in the file
	bad      map[string]bool   // key paths already reported as unreadable
	paths    map[string]string // *_file key path → the file read for it
	probs    Problems
	warnings []string
}

func (v *validator) add(path, format string, args ...any) {
	if v.bad[path] {
		return // already reported with a better message
	}
	v.bad[path] = true
	v.probs = append(v.probs, path+": "+fmt.Sprintf(format, args...))
}

func (v *validator) warn(path, format string, args ...any) {
	v.warnings = append(v.warnings, path+": "+fmt.Sprintf(format, args...))
}

func (v *validator) now() time.Time {
	if v.opts.Now != nil {
		return v.opts.Now()
	}
	return time.Now()
}

// oneOf checks an enum; empty means def, or "required" when def is "".
func (v *validator) oneOf(path, what string, val *string, def string, allowed []string) {
	if *val == "" {
		if def == "" {
			v.add(path, "required (one of: %s)", strings.Join(allowed, ", "))
			return
		}
		*val = def
	}
	for _, a := range allowed {
		if *val == a {
			return
		}
	}
	v.add(path, "unknown %s %q (one of: %s)", what, *val, strings.Join(allowed, ", "))
}

func (v *validator) schedule(path string, spec *string, def string) {
	if *spec == "" {
		*spec = def
		return
	}
	if _, err := cron.ParseStandard(*spec); err != nil {
		v.add(path, "%q is not a schedule (%v); write 5 cron fields like \"*/5 * * * *\" or a descriptor like \"@every 1m\" or \"@hourly\"", *spec, err)
	}
}

func (v *validator) run() {
	c := v.cfg
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	} else if !filepath.IsAbs(c.DataDir) {
		v.add("data_dir", "must be an absolute path, like %s, not %q", DefaultDataDir, c.DataDir)
	}
	v.oneOf("log.level", "level", &c.Log.Level, "info", []string{"debug", "info", "warn", "error"})
	v.oneOf("log.format", "format", &c.Log.Format, "text", []string{"text", "json"})
	v.http(&c.HTTP)
	v.schedule("defaults.schedule", &c.Defaults.Schedule, DefaultSchedule)

	if len(c.Shops) == 0 && !v.bad["shops"] {
		v.add("shops", "no shop configured; add at least one (see config.example.yaml)")
	}
	names := map[string]int{}
	hosts := map[string]int{}
	for i := range c.Shops {
		v.shop(i, &c.Shops[i], names, hosts)
	}
}

func (v *validator) http(h *HTTP) {
	if h.Listen == "" {
		h.Listen = DefaultListen
	}
	loopback := true
	host, port, err := net.SplitHostPort(h.Listen)
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
		v.add("http.listen", "%q is not HOST:PORT; write it like %s (or :8080 for every address)", h.Listen, DefaultListen)
	} else {
		loopback = isLoopback(host)
	}
	tok := v.load("http", "token", &h.Token, h.TokenFile)
	switch {
	case tok == nil && !loopback:
		v.add("http.token", "required when http.listen (%s) is not a loopback address: set http.token or http.token_file (e.g. from: openssl rand -hex 16), or listen on 127.0.0.1", h.Listen)
	case tok != nil && utf8.RuneCount(tok) < MinTokenLength:
		v.add(secretPath("http", "token", h.TokenFile), "shorter than %d characters; use a long random value (e.g. from: openssl rand -hex 16)", MinTokenLength)
	}
}

// isLoopback reports whether host names this machine only.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (v *validator) shop(i int, s *Shop, names, hosts map[string]int) {
	p := fmt.Sprintf("shops[%d]", i)
	switch j, dup := names[s.Name]; {
	case s.Name == "":
		v.add(p+".name", "required: a short unique name of a-z, 0-9 and -, like myshop")
	case !shopName.MatchString(s.Name):
		v.add(p+".name", "%q must be 1..32 characters of a-z, 0-9 and -, like myshop", s.Name)
	case dup:
		v.add(p+".name", "%q is already the name of shops[%d]; shop names must be unique", s.Name, j)
	default:
		names[s.Name] = i
	}

	in := &s.InSales
	if host := v.insalesURL(p+".insales.url", &in.URL); host != "" {
		if j, dup := hosts[host]; dup {
			v.add(p+".insales.url", "the same shop as shops[%d].insales.url: every order would get two receipts; remove one of them", j)
		} else {
			hosts[host] = i
		}
	}
	if in.APIKey == "" {
		v.add(p+".insales.api_key", "required: the «Идентификатор» of an access key (InSales back office: Приложения → Разработчикам → «Создать новый ключ доступа»)")
	}
	if v.load(p+".insales", "password", &in.Password, in.PasswordFile) == nil {
		v.required(p+".insales", "password", "the «Пароль» of the same access key")
	}
	if !v.set[p+".insales.per_page"] {
		in.PerPage = DefaultPerPage
	} else if in.PerPage < 1 || in.PerPage > MaxPerPage {
		v.add(p+".insales.per_page", "must be 1..%d, not %d", MaxPerPage, in.PerPage)
	}
	if in.OrderField != "" {
		f := strings.TrimSpace(in.OrderField)
		if f == "" {
			v.add(p+".insales.order_field", "must be a field id (a number) or a field title, not blank")
		} else if n, err := strconv.ParseInt(f, 10, 64); err == nil && n <= 0 {
			v.add(p+".insales.order_field", "a field id must be a positive number, not %d", n)
		}
		in.OrderField = f
	}

	v.schedule(p+".schedule", &s.Schedule, v.cfg.Defaults.Schedule)
	if s.StartFrom != "" {
		t, err := time.Parse(time.RFC3339, s.StartFrom)
		if err != nil {
			v.add(p+".start_from", "%q is not an RFC 3339 time; write it like 2026-01-15T00:00:00+03:00, or leave it empty to start from the first run", s.StartFrom)
		}
		s.StartFromTime = t
	}
	v.register(p+".register", &s.Register, s.DryRun)
	v.receipts(p+".receipts", &s.Receipts)
}

// insalesURL checks the shop's address and returns its lower-case host, or
// "" when the address is unusable.
func (v *validator) insalesURL(path string, raw *string) string {
	if *raw == "" {
		v.add(path, "required: the shop's address, like https://myshop-aa000.myinsales.ru")
		return ""
	}
	u, ok := v.baseURL(path, *raw, "https://myshop-aa000.myinsales.ru")
	if !ok {
		return ""
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		v.add(path, "must use https:// (http:// is allowed only for this machine, e.g. a test server on 127.0.0.1)")
		return ""
	}
	*raw = strings.TrimSuffix(*raw, "/")
	return strings.ToLower(u.Host)
}

// baseURL checks that raw is an http(s) address with a host and nothing
// after it. A URL with a user or password in it is never quoted.
func (v *validator) baseURL(path, raw, like string) (*url.URL, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		if u != nil && u.User != nil || strings.Contains(raw, "@") {
			v.add(path, "is not an address like %s", like)
		} else {
			v.add(path, "%q is not an address like %s", raw, like)
		}
		return nil, false
	}
	if u.User != nil {
		v.add(path, "must not hold a user name or password; write the address only, like %s", like)
		return nil, false
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		v.add(path, "%q must start with https://, like %s", raw, like)
		return nil, false
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		v.add(path, "%q must be the address only, without a path or query, like %s", raw, like)
		return nil, false
	}
	if _, err := strconv.Atoi(u.Port()); u.Port() != "" && err != nil {
		v.add(path, "%q has a bad port", raw)
		return nil, false
	}
	return u, true
}

func (v *validator) register(p string, r *Register, dryRun bool) {
	https := false
	switch {
	case r.URL == "":
		v.add(p+".url", "required: «Адрес устройства/сервера», like https://kkt.chekonline.ru (or http://HOST:4444 for a standalone register)")
	default:
		if u, ok := v.baseURL(p+".url", r.URL, "https://kkt.chekonline.ru"); ok {
			https = u.Scheme == "https"
			r.URL = strings.TrimSuffix(r.URL, "/")
		} else {
			https = strings.HasPrefix(strings.ToLower(r.URL), "https:")
		}
	}
	if !v.set[p+".cashier_password"] {
		r.CashierPassword = 1
	} else if r.CashierPassword < 1 || r.CashierPassword > 31 {
		v.add(p+".cashier_password", "must be 1..31 («Пароль кассира»; it is 1 unless the register was set up otherwise)")
	}
	if r.MaxDocumentsInShift < 0 || r.MaxDocumentsInShift > 10000 {
		v.add(p+".max_documents_in_shift", "must be 0..10000 (0 closes the shift by time only), not %d", r.MaxDocumentsInShift)
	}
	if !v.set[p+".rate"] {
		r.Rate = 1
	} else if !(r.Rate > 0) || math.IsInf(r.Rate, 0) {
		v.add(p+".rate", "must be more than 0 requests per second, like 1 or 0.5, not %g", r.Rate)
	}

	if !v.set[p+".max_in_flight"] {
		r.MaxInFlight = 1
	} else if r.MaxInFlight < 1 || r.MaxInFlight > MaxInFlight {
		v.add(p+".max_in_flight", "must be 1..%d requests at once, not %d", MaxInFlight, r.MaxInFlight)
	}
	r.TimeoutDuration = DefaultRegisterTimeout
	if r.Timeout != "" {
		d, err := time.ParseDuration(r.Timeout)
		if err != nil || d < time.Second || d > 10*time.Minute {
			v.add(p+".timeout", "must be a duration from 1s to 10m, like 60s, not %q", r.Timeout)
		} else {
			r.TimeoutDuration = d
		}
	}

	cert := v.load(p, "certificate", &r.Certificate, r.CertificateFile)
	key := v.load(p, "private_key", &r.PrivateKey, r.PrivateKeyFile)
	pass := v.load(p, "key_password", &r.KeyPassword, r.KeyPasswordFile)
	if r.CAFile != "" {
		if ca := v.load(p, "ca", new(string), r.CAFile); ca != nil {
			if _, err := certs.CAPool(ca); err != nil {
				v.add(p+".ca_file", "%s: %s; it must hold the CA certificate(s) of the register's server in PEM",
					v.paths[p+".ca_file"], strings.TrimPrefix(err.Error(), "ca: "))
			} else {
				r.CAPEM = ca
			}
		}
	}
	if !https {
		if cert != nil || key != nil {
			v.warn(p, "certificate and private key are ignored: a plain http:// register uses no client certificate")
		}
		r.CertificatePEM, r.PrivateKeyPEM = cert, key
		return
	}
	certPath := secretPath(p, "certificate", r.CertificateFile)
	keyPath := secretPath(p, "private_key", r.PrivateKeyFile)
	if cert == nil {
		if !dryRun && !v.bad[certPath] {
			v.add(p+".certificate_file", "required for an https register: the certificate (.crt/.pem) from the Chekonline cabinet, or certificate: with the PEM inline")
		}
		return
	}
	bundle := key == nil && !bytes.Contains(cert, []byte("-----BEGIN "))
	if key == nil {
		keyPath = certPath // a combined file or a bundle
	}
	if key == nil && !bundle && !bytes.Contains(cert, []byte("PRIVATE KEY-----")) {
		if !dryRun && !v.bad[keyPath] {
			v.add(p+".private_key_file", "required for an https register: the private key (.key) from the Chekonline cabinet, or private_key: with the PEM inline")
		}
		return
	}
	pair, err := certs.LoadKeyPair(cert, key, pass)
	if err != nil {
		v.tlsProblem(p, certPath, keyPath, bundle, err)
		return
	}
	r.CertificatePEM, r.PrivateKeyPEM = cert, key
	if leaf := pair.Leaf; leaf != nil {
		now := v.now()
		switch {
		case now.After(leaf.NotAfter):
			v.add(certPath, "the certificate expired on %s; download a new one from the Chekonline cabinet", leaf.NotAfter.UTC().Format(time.DateOnly))
		case now.Before(leaf.NotBefore):
			v.add(certPath, "the certificate is valid only from %s; check this machine's clock", leaf.NotBefore.UTC().Format(time.DateTime))
		case leaf.NotAfter.Sub(now) < 30*24*time.Hour:
			v.warn(certPath, "the certificate expires on %s; get a new one from the Chekonline cabinet in time", leaf.NotAfter.UTC().Format(time.DateOnly))
		}
	}
}

// tlsProblem turns a certs error into a problem at the key it concerns.
// certs errors never hold key bytes or passwords.
func (v *validator) tlsProblem(p, certPath, keyPath string, bundle bool, err error) {
	switch {
	case errors.Is(err, certs.ErrMissingPassword):
		v.add(p+".key_password", "required: the private key is encrypted; set key_password or key_password_file («Пароль к сертификату»)")
	case errors.Is(err, certs.ErrWrongPassword):
		v.add(p+".key_password", "does not decrypt the private key; use the «Пароль к сертификату» from the Chekonline cabinet")
	case errors.Is(err, certs.ErrKeyMismatch):
		v.add(keyPath, "the private key does not belong to the certificate; download both again from the Chekonline cabinet")
	case errors.Is(err, certs.ErrNoCertificate):
		v.add(certPath, "holds no PEM certificate (-----BEGIN CERTIFICATE-----) and is not a PKCS#12 bundle")
	case errors.Is(err, certs.ErrNoPrivateKey):
		v.add(keyPath, "holds no PEM private key (-----BEGIN ... PRIVATE KEY-----)")
	case bundle && strings.Contains(err.Error(), "key_password"):
		v.add(p+".key_password", "%v", err)
	case bundle || strings.HasPrefix(err.Error(), "certificate"):
		v.add(certPath, "%s", strings.TrimPrefix(err.Error(), "certificate: "))
	default:
		v.add(keyPath, "%s", strings.TrimPrefix(err.Error(), "private key: "))
	}
}

func (v *validator) receipts(p string, r *Receipts) {
	v.oneOf(p+".tax_system", "tax system", &r.TaxSystem, "", taxSystems())
	for _, k := range []struct {
		key string
		val *string
	}{{"vat_goods", &r.VATGoods}, {"vat_delivery", &r.VATDelivery}} {
		v.oneOf(p+"."+k.key, "rate", k.val, "", vatRates())
		if why := obsoleteRate(*k.val); why != "" {
			v.warn(p+"."+k.key, "%s %s; use vat22 (or vat122) unless the receipts are for sales made before 2026", *k.val, why)
		}
	}

	v.oneOf(p+".scheme", "scheme", &r.Scheme, "full_payment", []string{"full_payment", "prepayment"})
	v.statuses(p+".sale_statuses", r.SaleStatuses, true)
	v.statuses(p+".refund_statuses", r.RefundStatuses, false)
	v.overlap(p, "refund_statuses", r.RefundStatuses, "sale_statuses", r.SaleStatuses)
	// With the prepayment scheme, financial_status "paid" prints the
	// prepayment receipt; prepayment_statuses may add statuses that do too.
	switch {
	case r.Scheme == "full_payment" && len(r.PrepaymentStatuses) > 0:
		v.add(p+".prepayment_statuses", "only used with scheme: prepayment; remove it or set scheme: prepayment")
	default:
		v.statuses(p+".prepayment_statuses", r.PrepaymentStatuses, false)
		v.overlap(p, "prepayment_statuses", r.PrepaymentStatuses, "sale_statuses", r.SaleStatuses)
		v.overlap(p, "prepayment_statuses", r.PrepaymentStatuses, "refund_statuses", r.RefundStatuses)
	}

	v.paymentMethods(p+".payment_methods", r)
	v.oneOf(p+".contact", "contact", &r.Contact, "email_then_phone", []string{"email_then_phone", "phone_then_email", "email", "phone", "none"})

	keys := make([]string, 0, len(r.TaxIDs))
	for k := range r.TaxIDs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !knownRate(k) {
			v.add(p+".tax_ids."+k, "unknown rate %q (one of: %s)", k, strings.Join(vatRates(), ", "))
		} else if id := r.TaxIDs[k]; id < 1 || id > 255 {
			v.add(p+".tax_ids."+k, "must be the register's TaxId, 1..255, not %d", id)
		}
	}

	v.oneOf(p+".ffd", "FFD version", &r.FFD, "1.2", []string{"1.2", "1.05"})
	if r.Place != "" {
		if n := utf8.RuneCountInString(r.Place); n > 256 {
			v.add(p+".place", "is %d characters long; the register takes at most 256", n)
		} else if _, err := charmap.CodePage866.NewEncoder().String(r.Place); err != nil {
			v.add(p+".place", "%q has characters the register cannot print (it takes Cyrillic, Latin, digits and common signs)", r.Place)
		}
	}
}

func (v *validator) statuses(path string, list []string, required bool) {
	if len(list) == 0 {
		if required && !v.bad[path] {
			v.add(path, "required: at least one status (a custom status permalink or a fulfillment_status such as dispatched) at which a receipt is printed")
		}
		return
	}
	seen := map[string]bool{}
	for i, s := range list {
		ip := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case strings.TrimSpace(s) == "":
			v.add(ip, "must be a status name, not blank")
		case seen[s]:
			v.add(ip, "%q is listed twice", s)
		}
		seen[s] = true
	}
}

// overlap reports statuses of list a that are also in list b: one status
// must never start two kinds of receipt.
func (v *validator) overlap(p, aKey string, a []string, bKey string, b []string) {
	in := map[string]bool{}
	for _, s := range b {
		in[s] = true
	}
	for _, s := range a {
		if in[s] {
			v.add(p+"."+aKey, "%q is also in %s; a status may start one kind of receipt only", s, bKey)
			return
		}
	}
}

func (v *validator) paymentMethods(path string, r *Receipts) {
	if len(r.PaymentMethods) == 0 {
		if !v.bad[path] {
			v.add(path, "required: the cashless payment methods to print receipts for, as gateway ids (numbers) or exact titles (text), like [123456, \"Картой онлайн\"]")
		}
		return
	}
	r.GatewayIDs, r.GatewayTitles = nil, nil
	for i, m := range r.PaymentMethods {
		ip := fmt.Sprintf("%s[%d]", path, i)
		var what string
		switch m := m.(type) {
		case int:
			if m <= 0 {
				v.add(ip, "a gateway id must be a positive number, not %d", m)
				continue
			}
			r.GatewayIDs = append(r.GatewayIDs, int64(m))
			continue
		case int64:
			if m <= 0 {
				v.add(ip, "a gateway id must be a positive number, not %d", m)
				continue
			}
			r.GatewayIDs = append(r.GatewayIDs, m)
			continue
		case uint64:
			what = "a number too large for a gateway id"
		case string:
			if strings.TrimSpace(m) == "" {
				v.add(ip, "a payment method title must not be blank")
				continue
			}
			r.GatewayTitles = append(r.GatewayTitles, m)
			continue
		case float64:
			what = "a fractional number"
		case bool:
			what = "true/false"
		case nil:
			what = "empty"
		case []any:
			what = "a list"
		case map[string]any, map[any]any:
			what = "a mapping"
		default:
			what = fmt.Sprintf("a %T", m)
		}
		v.add(ip, "must be a gateway id (a whole number) or a payment method's exact title (text), not %s", what)
	}
}

// secretPath is the key a problem with secret X is reported at: X_file
// when the value came from a file, else X.
func secretPath(base, key, file string) string {
	if file != "" {
		return base + "." + key + "_file"
	}
	return base + "." + key
}

// required reports a missing secret or file value.
func (v *validator) required(base, key, what string) {
	path := base + "." + key
	if v.bad[path] || v.bad[path+"_file"] {
		return
	}
	v.add(path, "required: %s; set %s or %s_file", what, key, key)
}

// CredentialPrefix is what systemd puts before the name of each file it
// loads from a directory with LoadCredential=chekd:/etc/chekd/credentials
// (systemd/chekd.service): the file myshop.key becomes chekd_myshop.key.
const CredentialPrefix = "chekd_"

// resolve makes a relative *_file path absolute against the credentials
// directory, else the config file's directory.
func (v *validator) resolve(file string) string {
	if filepath.IsAbs(file) {
		return file
	}
	dir := v.opts.CredentialsDir
	if dir == "" {
		dir = v.opts.BaseDir
	}
	return filepath.Join(dir, file)
}

// readFile reads a *_file. A relative name not found in the credentials
// directory is looked for there under CredentialPrefix too, so one config
// works both under systemd and with CREDENTIALS_DIRECTORY=/etc/chekd/credentials
// set by hand.
func (v *validator) readFile(file string) (string, []byte, error) {
	path := v.resolve(file)
	data, err := v.opts.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !filepath.IsAbs(file) && v.opts.CredentialsDir != "" &&
		filepath.Base(file) == file && !strings.HasPrefix(file, CredentialPrefix) {
		alt := filepath.Join(v.opts.CredentialsDir, CredentialPrefix+file)
		if d, e := v.opts.ReadFile(alt); !errors.Is(e, fs.ErrNotExist) {
			return alt, d, e
		}
	}
	return path, data, err
}

// load returns secret or file X given inline (*inline) or as X_file (file),
// nil when neither is set. Text secrets read from a file lose one trailing
// line break and are stored into *inline, so users of Config need not care
// where a value came from. Nothing read is ever quoted in a message.
func (v *validator) load(base, key string, inline *string, file string) []byte {
	inPath, filePath := base+"."+key, base+"."+key+"_file"
	if v.bad[inPath] || v.bad[filePath] {
		return nil
	}
	if *inline != "" && file != "" {
		v.add(inPath, "set %s or %s_file, not both", key, key)
		return nil
	}
	if file == "" {
		if *inline == "" {
			return nil
		}
		return []byte(*inline)
	}
	path, data, err := v.readFile(file)
	if v.paths == nil {
		v.paths = map[string]string{}
	}
	v.paths[filePath] = path
	switch {
	case errors.Is(err, fs.ErrNotExist):
		v.add(filePath, "%s does not exist; fix the path (a relative path resolves against $CREDENTIALS_DIRECTORY, else the config file's directory)", path)
		return nil
	case errors.Is(err, fs.ErrPermission):
		v.add(filePath, "%s cannot be read by chekd (permission denied)", path)
		return nil
	case err != nil:
		v.add(filePath, "cannot read %s: %v", path, scrubPathErr(err))
		return nil
	}
	pemLike := key == "certificate" || key == "private_key" || key == "ca"
	if !pemLike {
		data = bytes.TrimSuffix(data, []byte("\n"))
		data = bytes.TrimSuffix(data, []byte("\r"))
	}
	if len(bytes.TrimSpace(data)) == 0 {
		v.add(filePath, "%s is empty", path)
		return nil
	}
	holdsKey := key == "private_key" || key == "key_password" || key == "password" || key == "token" ||
		key == "certificate" && !bytes.Contains(data, []byte("-----BEGIN ")) || // a PKCS#12 bundle holds the key
		key == "certificate" && bytes.Contains(data, []byte("PRIVATE KEY-----"))
	if holdsKey {
		if fi, err := v.opts.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			v.warn(filePath, "%s can be read by group or others (mode %04o); run chmod 600 %s", path, fi.Mode().Perm(), path)
		}
	}
	if !pemLike {
		*inline = string(data)
	}
	return data
}

// scrubPathErr keeps only the reason of a file error: the path is already
// in the message.
func scrubPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
