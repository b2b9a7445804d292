package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// invalidCases are the files testdata/invalid-*.yaml with the exact problems
// each must produce, in order. $DIR stands for the credentials directory.
var invalidCases = []struct {
	file string
	want []string
	opts func(*credentials, *Options)
}{
	{
		file: "invalid-01-yaml-syntax.yaml",
		want: []string{
			"not valid YAML: line 5: could not find expected ':'",
		},
	},
	{
		file: "invalid-02-unknown-keys.yaml",
		want: []string{
			"dry_run: unknown key; check its spelling against config.example.yaml",
			"shops[0].dryrun: unknown key; did you mean \"dry_run\"?",
			"shops[0].register.cashier_pasword: unknown key; did you mean \"cashier_password\"?",
		},
	},
	{
		file: "invalid-03-duplicate-key.yaml",
		want: []string{
			"shops[0].receipts.vat_goods: written twice (line 15); keep one",
		},
	},
	{
		file: "invalid-04-wrong-types.yaml",
		want: []string{
			"shops[0].dry_run: must be true or false, not \"yes\"",
			"shops[0].insales.password: must be a single value, not a list (line 8)",
			"shops[0].insales.per_page: must be a whole number, not \"many\"",
			"shops[0].register.cashier_password: must be a whole number, not a value",
		},
	},
	{
		file: "invalid-05-no-shops.yaml",
		want: []string{
			"shops: no shop configured; add at least one (see config.example.yaml)",
		},
	},
	{
		file: "invalid-06-shop-name.yaml",
		want: []string{
			"shops[0].name: \"My_Shop\" must be 1..32 characters of a-z, 0-9 and -, like myshop",
		},
	},
	{
		file: "invalid-07-shop-name-duplicate.yaml",
		want: []string{
			"shops[1].name: \"myshop\" is already the name of shops[0]; shop names must be unique",
		},
	},
	{
		file: "invalid-08-insales-url-http.yaml",
		want: []string{
			"shops[0].insales.url: must use https:// (http:// is allowed only for this machine, e.g. a test server on 127.0.0.1)",
		},
	},
	{
		file: "invalid-09-insales-url-userinfo.yaml",
		want: []string{
			"shops[0].insales.url: must not hold a user name or password; write the address only, like https://myshop-aa000.myinsales.ru",
		},
	},
	{
		file: "invalid-10-insales-missing.yaml",
		want: []string{
			"shops[0].insales.url: required: the shop's address, like https://myshop-aa000.myinsales.ru",
			"shops[0].insales.api_key: required: the «Идентификатор» of an access key (InSales back office: Приложения → Разработчикам → «Создать новый ключ доступа»)",
			"shops[0].insales.password: required: the «Пароль» of the same access key; set password or password_file",
		},
	},
	{
		file: "invalid-11-password-twice.yaml",
		want: []string{
			"shops[0].insales.password: set password or password_file, not both",
		},
	},
	{
		file: "invalid-12-password-file-missing.yaml",
		want: []string{
			"shops[0].insales.password_file: $DIR/no-such-password does not exist; fix the path (a relative path resolves against $CREDENTIALS_DIRECTORY, else the config file's directory)",
		},
	},
	{
		file: "invalid-13-per-page.yaml",
		want: []string{
			"shops[0].insales.per_page: must be 1..250, not 0",
			"shops[1].insales.per_page: must be 1..250, not 500",
		},
	},
	{
		file: "invalid-14-cashier-password.yaml",
		want: []string{
			"shops[0].register.cashier_password: must be 1..31 («Пароль кассира»; it is 1 unless the register was set up otherwise)",
			"shops[1].register.cashier_password: must be 1..31 («Пароль кассира»; it is 1 unless the register was set up otherwise)",
		},
	},
	{
		file: "invalid-15-max-documents.yaml",
		want: []string{
			"shops[0].register.max_documents_in_shift: must be 0..10000 (0 closes the shift by time only), not 10001",
		},
	},
	{
		file: "invalid-16-rate.yaml",
		want: []string{
			"shops[0].register.rate: must be more than 0 requests per second, like 1 or 0.5, not 0",
			"shops[0].register.max_in_flight: must be 1..16 requests at once, not 0",
			"shops[0].register.timeout: must be a duration from 1s to 10m, like 60s, not \"60\"",
		},
	},
	{
		file: "invalid-17-register-url.yaml",
		want: []string{
			"shops[0].register.url: \"https://kkt.chekonline.ru/fr/api/v2/Complex\" must be the address only, without a path or query, like https://kkt.chekonline.ru",
			"shops[1].register.url: \"ftp://kkt.chekonline.ru\" must start with https://, like https://kkt.chekonline.ru",
		},
	},
	{
		file: "invalid-18-https-without-cert.yaml",
		want: []string{
			"shops[0].register.certificate_file: required for an https register: the certificate (.crt/.pem) from the Chekonline cabinet, or certificate: with the PEM inline",
			"shops[1].register.private_key_file: required for an https register: the private key (.key) from the Chekonline cabinet, or private_key: with the PEM inline",
		},
	},
	{
		file: "invalid-19-enums.yaml",
		want: []string{
			"log.level: unknown level \"verbose\" (one of: debug, info, warn, error)",
			"log.format: unknown format \"xml\" (one of: text, json)",
			"shops[0].receipts.tax_system: unknown tax system \"usn\" (one of: osn, usn_income, usn_income_expense, envd, esn, patent)",
			"shops[0].receipts.vat_goods: unknown rate \"vat18\" (one of: vat22, vat122, vat20, vat120, vat10, vat110, vat5, vat105, vat7, vat107, vat0, none)",
			"shops[0].receipts.vat_delivery: unknown rate \"22\" (one of: vat22, vat122, vat20, vat120, vat10, vat110, vat5, vat105, vat7, vat107, vat0, none)",
			"shops[0].receipts.scheme: unknown scheme \"postpayment\" (one of: full_payment, prepayment)",
			"shops[0].receipts.contact: unknown contact \"sms\" (one of: email_then_phone, phone_then_email, email, phone, none)",
			"shops[0].receipts.ffd: unknown FFD version \"1.3\" (one of: 1.2, 1.05)",
		},
	},
	{
		file: "invalid-20-status-overlap.yaml",
		want: []string{
			"shops[0].receipts.refund_statuses: \"delivered\" is also in sale_statuses; a status may start one kind of receipt only",
		},
	},
	{
		file: "invalid-21-empty-lists.yaml",
		want: []string{
			"shops[0].receipts.sale_statuses: required: at least one status (a custom status permalink or a fulfillment_status such as dispatched) at which a receipt is printed",
			"shops[0].receipts.payment_methods: required: the cashless payment methods to print receipts for, as gateway ids (numbers) or exact titles (text), like [123456, \"Картой онлайн\"]",
		},
	},
	{
		file: "invalid-22-payment-methods.yaml",
		want: []string{
			"shops[0].receipts.payment_methods[1]: must be a gateway id (a whole number) or a payment method's exact title (text), not a fractional number",
			"shops[0].receipts.payment_methods[2]: must be a gateway id (a whole number) or a payment method's exact title (text), not true/false",
			"shops[0].receipts.payment_methods[3]: must be a gateway id (a whole number) or a payment method's exact title (text), not a list",
			"shops[0].receipts.payment_methods[4]: a gateway id must be a positive number, not -3",
			"shops[0].receipts.payment_methods[5]: a payment method title must not be blank",
			"shops[0].receipts.payment_methods[6]: must be a gateway id (a whole number) or a payment method's exact title (text), not a mapping",
		},
	},
	{
		file: "invalid-23-cron.yaml",
		want: []string{
			"defaults.schedule: \"every minute\" is not a schedule (expected exactly 5 fields, found 2: [every minute]); write 5 cron fields like \"*/5 * * * *\" or a descriptor like \"@every 1m\" or \"@hourly\"",
			"shops[0].schedule: \"* * *\" is not a schedule (expected exactly 5 fields, found 3: [* * *]); write 5 cron fields like \"*/5 * * * *\" or a descriptor like \"@every 1m\" or \"@hourly\"",
		},
	},
	{
		file: "invalid-24-listen-without-token.yaml",
		want: []string{
			"http.token: required when http.listen (0.0.0.0:8080) is not a loopback address: set http.token or http.token_file (e.g. from: openssl rand -hex 16), or listen on 127.0.0.1",
		},
	},
	{
		file: "invalid-25-short-token.yaml",
		want: []string{
			"http.token: shorter than 16 characters; use a long random value (e.g. from: openssl rand -hex 16)",
		},
	},
	{
		file: "invalid-26-listen-malformed.yaml",
		want: []string{
			"http.listen: \"8080\" is not HOST:PORT; write it like 127.0.0.1:8080 (or :8080 for every address)",
		},
	},
	{
		file: "invalid-27-start-from.yaml",
		want: []string{
			"shops[0].start_from: \"2026-01-15 10:00\" is not an RFC 3339 time; write it like 2026-01-15T00:00:00+03:00, or leave it empty to start from the first run",
		},
	},
	{
		file: "invalid-28-tls-wrong-password.yaml",
		want: []string{
			"shops[0].register.key_password: does not decrypt the private key; use the «Пароль к сертификату» from the Chekonline cabinet",
			"shops[1].register.key_password: does not decrypt the private key; use the «Пароль к сертификату» from the Chekonline cabinet",
		},
	},
	{
		file: "invalid-29-tls-missing-password.yaml",
		want: []string{
			"shops[0].register.key_password: required: the private key is encrypted; set key_password or key_password_file («Пароль к сертификату»)",
		},
	},
	{
		file: "invalid-30-tls-mismatched-key.yaml",
		want: []string{
			"shops[0].register.private_key_file: the private key does not belong to the certificate; download both again from the Chekonline cabinet",
		},
	},
	{
		file: "invalid-31-tls-garbage.yaml",
		want: []string{
			"shops[0].register.certificate_file: block 1 is not a valid X.509 certificate: x509: malformed certificate",
			"shops[1].register.certificate_file: holds no PEM certificate (-----BEGIN CERTIFICATE-----) and is not a PKCS#12 bundle",
		},
	},
	{
		file: "invalid-32-ca-file.yaml",
		want: []string{
			"shops[0].register.ca_file: $DIR/notes.txt: no PEM CERTIFICATE block; it must hold the CA certificate(s) of the register's server in PEM",
		},
	},
	{
		file: "invalid-33-prepayment.yaml",
		want: []string{
			"shops[0].receipts.prepayment_statuses: \"returned\" is also in refund_statuses; a status may start one kind of receipt only",
			"shops[1].receipts.prepayment_statuses: only used with scheme: prepayment; remove it or set scheme: prepayment",
			"shops[2].receipts.prepayment_statuses: \"dispatched\" is also in sale_statuses; a status may start one kind of receipt only",
		},
	},
	{
		file: "invalid-34-tax-ids.yaml",
		want: []string{
			"shops[0].receipts.tax_ids.vat18: unknown rate \"vat18\" (one of: vat22, vat122, vat20, vat120, vat10, vat110, vat5, vat105, vat7, vat107, vat0, none)",
			"shops[0].receipts.tax_ids.vat22: must be the register's TaxId, 1..255, not 0",
		},
	},
	{
		file: "invalid-35-data-dir.yaml",
		want: []string{
			"data_dir: must be an absolute path, like /var/lib/chekd, not \"data\"",
		},
	},
	{
		file: "invalid-36-same-insales-shop.yaml",
		want: []string{
			"shops[1].insales.url: the same shop as shops[0].insales.url: every order would get two receipts; remove one of them",
		},
	},
	{
		file: "invalid-37-place-cp866.yaml",
		want: []string{
			"shops[0].receipts.place: \"shop.example 🛒\" has characters the register cannot print (it takes Cyrillic, Latin, digits and common signs)",
		},
	},
	{
		file: "invalid-38-order-field.yaml",
		want: []string{
			"shops[0].insales.order_field: a field id must be a positive number, not 0",
		},
	},
	{
		file: "invalid-39-two-documents.yaml",
		want: []string{
			"the file holds more than one YAML document (a second ---); keep one",
		},
	},
	{
		file: "invalid-40-empty-secret-file.yaml",
		want: []string{
			"shops[0].insales.password_file: $DIR/empty is empty",
			"shops[0].register.key_password: set key_password or key_password_file, not both",
		},
	},
	{
		file: "invalid-41-not-a-mapping.yaml",
		want: []string{
			"http: must be a mapping of keys, not text (line 2)",
			"shops: must be a list, like [a, b], not a mapping (line 4)",
		},
	},
	{
		file: "invalid-42-unterminated-secret.yaml",
		want: []string{
			"not valid YAML: line 5: found unexpected end of stream",
		},
	},
	{
		file: "invalid-43-alias-bomb.yaml",
		want: []string{
			"a: unknown key; check its spelling against config.example.yaml",
			"b: unknown key; check its spelling against config.example.yaml",
			"c: unknown key; check its spelling against config.example.yaml",
			"d: unknown key; check its spelling against config.example.yaml",
			"e: unknown key; check its spelling against config.example.yaml",
			"f: unknown key; check its spelling against config.example.yaml",
			"g: unknown key; did you mean \"log\"?",
			"shops[0].receipts.payment_methods[0]: cannot be read (line 8): document contains excessive aliasing",
			"shops[0].name: required: a short unique name of a-z, 0-9 and -, like myshop",
			"shops[0].insales.url: required: the shop's address, like https://myshop-aa000.myinsales.ru",
			"shops[0].insales.api_key: required: the «Идентификатор» of an access key (InSales back office: Приложения → Разработчикам → «Создать новый ключ доступа»)",
			"shops[0].insales.password: required: the «Пароль» of the same access key; set password or password_file",
			"shops[0].register.url: required: «Адрес устройства/сервера», like https://kkt.chekonline.ru (or http://HOST:4444 for a standalone register)",
			"shops[0].receipts.tax_system: required (one of: osn, usn_income, usn_income_expense, envd, esn, patent)",
			"shops[0].receipts.vat_goods: required (one of: vat22, vat122, vat20, vat120, vat10, vat110, vat5, vat105, vat7, vat107, vat0, none)",
			"shops[0].receipts.vat_delivery: required (one of: vat22, vat122, vat20, vat120, vat10, vat110, vat5, vat105, vat7, vat107, vat0, none)",
			"shops[0].receipts.sale_statuses: required: at least one status (a custom status permalink or a fulfillment_status such as dispatched) at which a receipt is printed",
		},
	},
	{
		file: "invalid-44-cert-expired.yaml",
		want: []string{
			"shops[0].register.certificate_file: the certificate expired on $EXPIRY; download a new one from the Chekonline cabinet",
		},
		opts: func(c *credentials, o *Options) {
			o.Now = func() time.Time { return c.notAfter.Add(time.Hour) }
		},
	},
}

func TestInvalidConfigs(t *testing.T) {
	t.Parallel()
	creds := newCredentials(t)
	files, err := filepath.Glob("../../testdata/invalid-*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 25 {
		t.Fatalf("only %d invalid configs in testdata", len(files))
	}
	covered := map[string]bool{}
	for _, tc := range invalidCases {
		covered[tc.file] = true
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(filepath.Join("../../testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			opts := creds.opts()
			if tc.opts != nil {
				tc.opts(creds, &opts)
			}
			cfg, err := Parse(data, opts)
			if err == nil {
				t.Fatalf("Parse accepted it: %+v", cfg)
			}
			var probs Problems
			if !errors.As(err, &probs) {
				t.Fatalf("error is %T, want Problems: %v", err, err)
			}
			want := make([]string, len(tc.want))
			for i, w := range tc.want {
				want[i] = creds.expand(w)
			}
			if !slices.Equal(probs, want) {
				t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(probs, "\n  "), strings.Join(want, "\n  "))
			}
			creds.assertNoSecret(t, "the error", err.Error())
		})
	}
	for _, f := range files {
		if !covered[filepath.Base(f)] {
			t.Errorf("%s has no expected problems in invalidCases", f)
		}
	}
}
