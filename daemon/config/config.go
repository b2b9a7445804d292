// Package config reads chekd's YAML configuration strictly and validates it.
//
// The file is decoded from bytes (so tests need no files) by walking the YAML
// node tree into these structs by their mapstructure tags: every unknown or
// duplicate key is an error, a scalar keeps the exact text written for a
// string field, and "absent" differs from "0". Validation then reports every
// problem at once, each naming the YAML key path and the fix, fills defaults,
// and loads the certificate, key and secret files. Secrets may be given inline
// or as X_file; a relative X_file resolves against $CREDENTIALS_DIRECTORY
// (systemd LoadCredential=), else the config file's directory.
//
// It must never put a secret value (API password, private key, key password,
// token) into an error, a warning or a log line, and never talks to the
// network.
package config

import (
	"time"
)

// DefaultPath is where chekd looks for its config when neither --config nor
// $CHEKD_CONFIG says otherwise.
const DefaultPath = "/etc/chekd/config.yaml"

// Config is the whole configuration.
type Config struct {
	DataDir  string   `mapstructure:"data_dir"`
	Log      Log      `mapstructure:"log"`
	HTTP     HTTP     `mapstructure:"http"`
	Defaults Defaults `mapstructure:"defaults"`
	Shops    []Shop   `mapstructure:"shops"`

	// Warnings are problems that do not stop chekd (obsolete VAT rates,
	// key files readable by others). Filled by Parse.
	Warnings []string `mapstructure:"-"`
}

// Log configures logging.
type Log struct {
	Level  string `mapstructure:"level"`  // debug | info | warn | error
	Format string `mapstructure:"format"` // text | json
}

// HTTP configures the status endpoint.
type HTTP struct {
	Listen    string `mapstructure:"listen"`
	Token     string `mapstructure:"token"`
	TokenFile string `mapstructure:"token_file"`
}

// Defaults apply to every shop that does not override them.
type Defaults struct {
	Schedule string `mapstructure:"schedule"`
}

// Shop is one InSales shop and the register that prints its receipts.
type Shop struct {
	Name      string   `mapstructure:"name"`
	InSales   InSales  `mapstructure:"insales"`
	Schedule  string   `mapstructure:"schedule"`
	StartFrom string   `mapstructure:"start_from"`
	DryRun    bool     `mapstructure:"dry_run"`
	Register  Register `mapstructure:"register"`
	Receipts  Receipts `mapstructure:"receipts"`

	// StartFromTime is StartFrom parsed; zero when StartFrom is empty.
	StartFromTime time.Time `mapstructure:"-"`
}

// InSales is how to reach the shop's API.
type InSales struct {
	URL          string `mapstructure:"url"`
	APIKey       string `mapstructure:"api_key"`
	Password     string `mapstructure:"password"`
	PasswordFile string `mapstructure:"password_file"`
	PerPage      int    `mapstructure:"per_page"`
	// OrderField, when set, is the id (number) or title of an additional order
	// field where chekd writes the receipt's fiscal data.
	OrderField string `mapstructure:"order_field"`
}

// Register is the Chekonline register (cloud or standalone).
type Register struct {
	URL                 string  `mapstructure:"url"`
	Group               string  `mapstructure:"group"`
	ClientID            string  `mapstructure:"client_id"`
	CashierPassword     int64   `mapstructure:"cashier_password"`
	MaxDocumentsInShift int64   `mapstructure:"max_documents_in_shift"`
	Certificate         string  `mapstructure:"certificate"`
	CertificateFile     string  `mapstructure:"certificate_file"`
	PrivateKey          string  `mapstructure:"private_key"`
	PrivateKeyFile      string  `mapstructure:"private_key_file"`
	KeyPassword         string  `mapstructure:"key_password"`
	KeyPasswordFile     string  `mapstructure:"key_password_file"`
	CAFile              string  `mapstructure:"ca_file"`
	Rate                float64 `mapstructure:"rate"`
	// MaxInFlight is how many requests may be at this register at once
	// (default 1).
	MaxInFlight int `mapstructure:"max_in_flight"`
	// Timeout bounds one register request, like "60s" (the default: the
	// balancer may wait that long for a free register).
	Timeout string `mapstructure:"timeout"`

	// TimeoutDuration is Timeout parsed.
	TimeoutDuration time.Duration `mapstructure:"-"`

	// Loaded PEM material, filled by Parse from the inline values or files.
	CertificatePEM []byte `mapstructure:"-"`
	PrivateKeyPEM  []byte `mapstructure:"-"`
	CAPEM          []byte `mapstructure:"-"`
}

// Receipts are the shop's receipt settings.
type Receipts struct {
	TaxSystem      string           `mapstructure:"tax_system"`
	VATGoods       string           `mapstructure:"vat_goods"`
	VATDelivery    string           `mapstructure:"vat_delivery"`
	SaleStatuses   []string         `mapstructure:"sale_statuses"`
	RefundStatuses []string         `mapstructure:"refund_statuses"`
	PaymentMethods []any            `mapstructure:"payment_methods"`
	Contact        string           `mapstructure:"contact"`
	TaxIDs         map[string]int64 `mapstructure:"tax_ids"`

	// Scheme is full_payment (one receipt at a sale status, the default) or
	// prepayment (a prepayment receipt when paid, a settlement receipt at a
	// sale status).
	Scheme             string   `mapstructure:"scheme"`
	PrepaymentStatuses []string `mapstructure:"prepayment_statuses"`
	// FFD is the register's fiscal data format: "1.2" (default; measure units,
	// marking codes and Place are sent) or "1.05" (they are not).
	FFD string `mapstructure:"ffd"`
	// Place is the settlement place (the shop's site address); empty means the
	// InSales URL.
	Place string `mapstructure:"place"`

	// Parsed from PaymentMethods by Parse: numbers are gateway ids, strings exact titles.
	GatewayIDs    []int64  `mapstructure:"-"`
	GatewayTitles []string `mapstructure:"-"`
}
