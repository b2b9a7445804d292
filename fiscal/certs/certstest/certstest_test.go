package certstest_test

import (
	"crypto/x509"
	"testing"

	"github.com/chekd/chekd/fiscal/certs/certstest"
)

func TestBundle(t *testing.T) {
	t.Parallel()
	b, err := certstest.Shared()
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := certstest.Shared(); again != b {
		t.Fatal("Shared generated a second bundle")
	}
	for _, host := range []string{"127.0.0.1", "localhost", "::1"} {
		if _, err := b.Server.Cert.Verify(x509.VerifyOptions{Roots: b.CA.Pool(), DNSName: host}); err != nil {
			t.Fatalf("server certificate for %s: %v", host, err)
		}
	}
	client := x509.VerifyOptions{Roots: b.CA.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	for _, id := range []*certstest.Identity{b.ClientECDSA, b.ClientRSA} {
		if _, err := id.Cert.Verify(client); err != nil {
			t.Fatalf("%s: %v", id.Cert.Subject.CommonName, err)
		}
		if tc := id.TLS(); len(tc.Certificate) != 2 || tc.PrivateKey == nil {
			t.Fatal("TLS() lacks the chain or the key")
		}
	}
	if _, err := b.Stranger.Cert.Verify(client); err == nil {
		t.Fatal("the stranger verifies against the test CA")
	}
}

func TestKeyFormatsRefuseWrongKeys(t *testing.T) {
	t.Parallel()
	b, err := certstest.Shared()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.ClientECDSA.KeyPEM(certstest.PKCS1, nil); err == nil {
		t.Fatal("PKCS#1 of an ECDSA key")
	}
	if _, err := b.ClientRSA.KeyPEM(certstest.EC, nil); err == nil {
		t.Fatal("EC encoding of an RSA key")
	}
	if _, err := b.ClientRSA.KeyPEM(certstest.EncryptedPKCS8, nil); err == nil {
		t.Fatal("encrypted PKCS#8 without a password")
	}
	if _, err := b.CA.Server(); err == nil {
		t.Fatal("a server certificate for no host")
	}
}
