package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chekd/chekd/fiscal/certs/certstest"
)

// Distinctive secret values used by the testdata configs and the generated
// credential files. No message may ever contain one of them.
const (
	secretInSalesPassword = "Pw-InSales-7f3a9c"
	secretInSalesFile     = "Pw-InSales-file-4c2e81"
	secretKeyPassword     = "Kp-Cert-5e1b2d"
	secretToken           = "Tk-Http-9d8c7b6a5f4e3d2c"
	secretShortToken      = "Tk-9d8c7b"
	secretWrongKeyPass    = "Kp-Wrong-0a9f8e"
	secretURLPassword     = "Pw-InURL-31c4d7"
	secretPKCS12Password  = "P12-Pass-6b5a4c"
)

func allSecrets() []string {
	return []string{secretInSalesPassword, secretInSalesFile, secretKeyPassword, secretToken,
		secretShortToken, secretWrongKeyPass, secretURLPassword, secretPKCS12Password}
}

// credentials is a directory of generated TLS material and secret files,
// standing in for $CREDENTIALS_DIRECTORY.
type credentials struct {
	dir      string
	leaf     *certstest.Identity
	keyPEMs  [][]byte // every private key written, for the leak checks
	notAfter time.Time
}

func newCredentials(t *testing.T) *credentials {
	t.Helper()
	b, err := certstest.Shared()
	if err != nil {
		t.Fatal(err)
	}
	c := &credentials{dir: t.TempDir(), leaf: b.ClientECDSA, notAfter: b.ClientECDSA.Cert.NotAfter}
	key := func(id *certstest.Identity, f certstest.KeyFormat, pass string) []byte {
		t.Helper()
		k, err := id.KeyPEM(f, []byte(pass))
		if err != nil {
			t.Fatal(err)
		}
		c.keyPEMs = append(c.keyPEMs, k)
		return k
	}
	p12, err := b.ClientECDSA.PKCS12(secretPKCS12Password)
	if err != nil {
		t.Fatal(err)
	}
	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{"client.crt", b.ClientECDSA.ChainPEM, 0o644},
		{"client.key", key(b.ClientECDSA, certstest.PKCS8, ""), 0o600},
		{"client-ec.key", key(b.ClientECDSA, certstest.EC, ""), 0o600},
		{"client-enc.key", key(b.ClientECDSA, certstest.EncryptedPKCS8, secretKeyPassword), 0o600},
		{"client-legacy.key", key(b.ClientECDSA, certstest.LegacyPEM, secretKeyPassword), 0o600},
		{"client-open.key", key(b.ClientECDSA, certstest.PKCS8, ""), 0o644},
		{"client-rsa.crt", b.ClientRSA.CertPEM, 0o644},
		{"client-rsa.key", key(b.ClientRSA, certstest.PKCS1, ""), 0o600},
		{"client.p12", p12, 0o600},
		{"stranger.key", key(b.Stranger, certstest.PKCS8, ""), 0o600},
		{"garbage.pem", []byte("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"), 0o644},
		{"notes.txt", []byte("this is not a certificate\n"), 0o644},
		{"ca.crt", b.CA.CertPEM, 0o644},
		{"insales-password", []byte(secretInSalesFile + "\n"), 0o600},
		{"key-password", []byte(secretKeyPassword + "\n"), 0o640},
		{"http-token", []byte(secretToken + "\n"), 0o600},
		{"empty", nil, 0o600},
	}
	for _, f := range files {
		p := filepath.Join(c.dir, f.name)
		if err := os.WriteFile(p, f.data, f.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, f.mode); err != nil { // umask may have narrowed it
			t.Fatal(err)
		}
	}
	return c
}

func (c *credentials) opts() Options {
	return Options{CredentialsDir: c.dir}
}

// expand puts the credentials directory and the certificates' end date
// into an expected message.
func (c *credentials) expand(s string) string {
	s = strings.ReplaceAll(s, "$EXPIRY", c.notAfter.UTC().Format(time.DateOnly))
	return strings.ReplaceAll(s, "$DIR", c.dir)
}

// assertNoSecret fails when text holds a secret value or a piece of a key.
func (c *credentials) assertNoSecret(t *testing.T, what, text string) {
	t.Helper()
	for _, s := range allSecrets() {
		if strings.Contains(text, s) {
			t.Errorf("%s shows the secret %q:\n%s", what, s, text)
		}
	}
	for _, k := range c.keyPEMs {
		for _, line := range strings.Split(string(k), "\n") {
			if len(line) >= 32 && !strings.HasPrefix(line, "-----") && strings.Contains(text, line[:32]) {
				t.Errorf("%s shows private key material:\n%s", what, text)
			}
		}
	}
}
