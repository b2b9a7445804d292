package certs_test

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/chekd/chekd/fiscal/certs"
	"github.com/chekd/chekd/fiscal/certs/certstest"
)

const secret = "s3cret-Пароль"

func bundle(t testing.TB) *certstest.Bundle {
	t.Helper()
	b, err := certstest.Shared()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func keyPEM(t testing.TB, id *certstest.Identity, f certstest.KeyFormat, pw string) []byte {
	t.Helper()
	k, err := id.KeyPEM(f, []byte(pw))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestLoadKeyPairFormats(t *testing.T) {
	t.Parallel()
	b := bundle(t)
	cases := []struct {
		name string
		id   *certstest.Identity
		f    certstest.KeyFormat
		pw   string
	}{
		{"rsa pkcs1", b.ClientRSA, certstest.PKCS1, ""},
		{"rsa pkcs8", b.ClientRSA, certstest.PKCS8, ""},
		{"rsa encrypted pkcs8", b.ClientRSA, certstest.EncryptedPKCS8, secret},
		{"rsa legacy pem", b.ClientRSA, certstest.LegacyPEM, secret},
		{"ecdsa ec", b.ClientECDSA, certstest.EC, ""},
		{"ecdsa pkcs8", b.ClientECDSA, certstest.PKCS8, ""},
		{"ecdsa encrypted pkcs8", b.ClientECDSA, certstest.EncryptedPKCS8, secret},
		{"ecdsa legacy pem", b.ClientECDSA, certstest.LegacyPEM, secret},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			key := keyPEM(t, tc.id, tc.f, tc.pw)
			for _, certPEM := range [][]byte{tc.id.CertPEM, tc.id.ChainPEM} {
				c, err := certs.LoadKeyPair(certPEM, key, []byte(tc.pw))
				if err != nil {
					t.Fatalf("LoadKeyPair: %v", err)
				}
				if !c.Leaf.Equal(tc.id.Cert) {
					t.Fatal("leaf is not the given certificate")
				}
				wantChain := bytes.Count(certPEM, []byte("BEGIN CERTIFICATE"))
				if len(c.Certificate) != wantChain {
					t.Fatalf("chain has %d certificates, want %d", len(c.Certificate), wantChain)
				}
				if _, err := c.Leaf.Verify(x509.VerifyOptions{Roots: b.CA.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
					t.Fatalf("leaf does not verify: %v", err)
				}
			}
		})
	}
}

func TestLoadKeyPairCombinedFile(t *testing.T) {
	t.Parallel()
	b := bundle(t)
	combined := append(keyPEM(t, b.ClientECDSA, certstest.EC, ""), b.ClientECDSA.ChainPEM...)
	c, err := certs.LoadKeyPair(combined, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Leaf.Equal(b.ClientECDSA.Cert) || len(c.Certificate) != 2 {
		t.Fatalf("wrong leaf or chain length %d", len(c.Certificate))
	}
}

func TestLoadKeyPairPKCS12(t *testing.T) {
	t.Parallel()
	b := bundle(t)
	for _, id := range []*certstest.Identity{b.ClientECDSA, b.ClientRSA} {
		p12, err := id.PKCS12(secret)
		if err != nil {
			t.Fatal(err)
		}
		c, err := certs.LoadKeyPair(p12, nil, []byte(secret))
		if err != nil {
			t.Fatalf("LoadKeyPair(p12): %v", err)
		}
		if !c.Leaf.Equal(id.Cert) || len(c.Certificate) != 2 {
			t.Fatalf("wrong leaf or chain length %d", len(c.Certificate))
		}
		_, err = certs.LoadKeyPair(p12, nil, []byte("nope"))
		checkErr(t, err, "certificate bundle (PKCS#12): wrong key_password", nil)
		_, err = certs.LoadKeyPair(p12, nil, nil)
		checkErr(t, err, "certificate bundle (PKCS#12): encrypted but no key_password given", nil)
	}
}

func checkErr(t *testing.T, err error, want string, target error) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %q", want)
	}
	if err.Error() != want {
		t.Fatalf("error %q, want %q", err, want)
	}
	if target != nil && !errors.Is(err, target) {
		t.Fatalf("error %v is not %v", err, target)
	}
	if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "PRIVATE KEY-----") {
		t.Fatalf("error leaks a secret: %v", err)
	}
}

func TestLoadKeyPairErrors(t *testing.T) {
	t.Parallel()
	b := bundle(t)
	ec := b.ClientECDSA
	rsaPKCS1 := keyPEM(t, b.ClientRSA, certstest.PKCS1, "")
	encPKCS8 := keyPEM(t, ec, certstest.EncryptedPKCS8, secret)
	legacy := keyPEM(t, b.ClientRSA, certstest.LegacyPEM, secret)
	ecKey := keyPEM(t, ec, certstest.EC, "")
	cases := []struct {
		name     string
		cert     []byte
		key      []byte
		pw       string
		want     string
		sentinel error
	}{
		{"no certificate", []byte("-----BEGIN FOO-----\nAA==\n-----END FOO-----\n"), ecKey, "", "certificate: no PEM CERTIFICATE block", certs.ErrNoCertificate},
		{"key given as certificate", ecKey, ecKey, "", "certificate: no PEM CERTIFICATE block", certs.ErrNoCertificate},
		{"no key", ec.CertPEM, ec.CertPEM, "", "private key: no PEM PRIVATE KEY block", certs.ErrNoPrivateKey},
		{"garbage key", ec.CertPEM, []byte("hello"), "", "private key: no PEM PRIVATE KEY block", certs.ErrNoPrivateKey},
		{"encrypted pkcs8 wrong password", ec.CertPEM, encPKCS8, "wrong", "private key: wrong key_password", certs.ErrWrongPassword},
		{"encrypted pkcs8 no password", ec.CertPEM, encPKCS8, "", "private key: encrypted but no key_password given", certs.ErrMissingPassword},
		{"legacy wrong password", b.ClientRSA.CertPEM, legacy, "wrong", "private key: wrong key_password", certs.ErrWrongPassword},
		{"legacy no password", b.ClientRSA.CertPEM, legacy, "", "private key: encrypted but no key_password given", certs.ErrMissingPassword},
		{"mismatch", ec.CertPEM, rsaPKCS1, "", "private key does not match the certificate", certs.ErrKeyMismatch},
		{"mismatch same algorithm", b.Stranger.CertPEM, ecKey, "", "private key does not match the certificate", certs.ErrKeyMismatch},
		{"bad certificate bytes", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")}), ecKey, "", "", nil},
		{"not pem, not pkcs12", []byte("just text"), nil, "", "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := certs.LoadKeyPair(tc.cert, tc.key, []byte(tc.pw))
			if tc.want == "" {
				if err == nil {
					t.Fatal("no error")
				}
				if !strings.HasPrefix(err.Error(), "certificate: ") {
					t.Fatalf("error %q does not say it is about the certificate", err)
				}
				return
			}
			checkErr(t, err, tc.want, tc.sentinel)
		})
	}
}

func TestCAPool(t *testing.T) {
	t.Parallel()
	b := bundle(t)
	pool, err := certs.CAPool(b.CA.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Server.Cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: "localhost"}); err != nil {
		t.Fatalf("server certificate does not verify against the pool: %v", err)
	}
	if _, err := certs.CAPool([]byte("nothing here")); err == nil || err.Error() != "ca: no PEM CERTIFICATE block" {
		t.Fatalf("CAPool(garbage) = %v", err)
	}
	bad := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0x01}})
	if _, err := certs.CAPool(bad); err == nil || !strings.HasPrefix(err.Error(), "ca: certificate 1: ") {
		t.Fatalf("CAPool(bad) = %v", err)
	}
}

// FuzzLoadKeyPair feeds arbitrary certificate/key bytes: outside input must
// give an error, never a panic, and never echo the password.
func FuzzLoadKeyPair(f *testing.F) {
	b, err := certstest.Shared()
	if err != nil {
		f.Fatal(err)
	}
	enc, _ := b.ClientECDSA.KeyPEM(certstest.EncryptedPKCS8, []byte("pw"))
	leg, _ := b.ClientECDSA.KeyPEM(certstest.LegacyPEM, []byte("pw"))
	plain, _ := b.ClientECDSA.KeyPEM(certstest.EC, nil)
	p12, _ := b.ClientECDSA.PKCS12("pw")
	f.Add(b.ClientECDSA.CertPEM, enc, []byte("pw"))
	f.Add(b.ClientECDSA.CertPEM, leg, []byte("pw"))
	f.Add(b.ClientECDSA.CertPEM, plain, []byte(""))
	f.Add(p12, []byte(""), []byte("pw"))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"), []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----\n"), []byte("x"))
	f.Fuzz(func(t *testing.T, cert, key, pw []byte) {
		c, err := certs.LoadKeyPair(cert, key, pw)
		if err != nil {
			if len(pw) >= 4 && strings.Contains(err.Error(), string(pw)) && !strings.Contains(string(cert)+string(key), string(pw)) {
				t.Fatalf("error contains the password: %v", err)
			}
			return
		}
		if c.Leaf == nil || c.PrivateKey == nil || len(c.Certificate) == 0 {
			t.Fatal("success without leaf, key or chain")
		}
	})
}
