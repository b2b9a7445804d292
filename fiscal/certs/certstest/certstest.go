// Package certstest generates throw-away TLS material for tests: a CA, a server
// certificate for 127.0.0.1 and localhost, client certificates signed by the
// CA (ECDSA P-256 and RSA 2048), and their private keys in every encoding
// package certs reads (PKCS#1, PKCS#8, EC, encrypted PKCS#8, legacy encrypted
// PEM, PKCS#12).
//
// Key generation is slow under -race, so Shared generates one bundle per
// process and hands the same immutable values to every caller.
//
// It must never be used outside tests and demos: its keys are generated
// without any care for storage and its certificates trust anything it signs.
package certstest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"sync"
	"time"

	"github.com/youmark/pkcs8"
	"software.sslmate.com/src/go-pkcs12"
)

// KeyAlg is the kind of key a client certificate gets.
type KeyAlg int

// Key algorithms.
const (
	ECDSA KeyAlg = iota // P-256: fast
	RSA                 // 2048 bits: the smallest size Go's TLS accepts for RSA certificates
)

// KeyFormat is an encoding of a private key.
type KeyFormat int

// Key encodings.
const (
	PKCS1          KeyFormat = iota // "RSA PRIVATE KEY" (RSA only)
	PKCS8                           // "PRIVATE KEY"
	EC                              // "EC PRIVATE KEY" (ECDSA only)
	EncryptedPKCS8                  // "ENCRYPTED PRIVATE KEY" (PBES2, AES-256-CBC)
	LegacyPEM                       // "RSA/EC PRIVATE KEY" with Proc-Type: 4,ENCRYPTED (AES-256-CBC)
)

func (f KeyFormat) String() string {
	switch f {
	case PKCS1:
		return "pkcs1"
	case PKCS8:
		return "pkcs8"
	case EC:
		return "ec"
	case EncryptedPKCS8:
		return "encrypted-pkcs8"
	case LegacyPEM:
		return "legacy-pem"
	}
	return fmt.Sprintf("KeyFormat(%d)", int(f))
}

// CA is a certificate authority that signs server and client certificates.
type CA struct {
	Cert    *x509.Certificate
	Key     crypto.Signer
	CertPEM []byte
}

// Identity is a certificate with its private key.
type Identity struct {
	Cert     *x509.Certificate
	Key      crypto.Signer
	CertPEM  []byte // the leaf only
	ChainPEM []byte // the leaf followed by the CA certificate
	ca       *CA
}

// Bundle is the set of certificates most tests need.
type Bundle struct {
	CA          *CA
	Server      *Identity // for 127.0.0.1, ::1 and localhost, signed by CA
	ClientECDSA *Identity // signed by CA
	ClientRSA   *Identity // signed by CA
	// Stranger is a client certificate signed by a different CA: a server
	// trusting CA rejects it during the handshake.
	Stranger *Identity
}

type shared struct {
	once sync.Once
	b    *Bundle
	err  error
}

// cache is written once under sync.Once and read-only afterwards: generating
// an RSA key under -race takes long enough to matter across hundreds of tests.
var cache shared

// Shared returns the process-wide bundle, generating it on first use.
func Shared() (*Bundle, error) {
	cache.once.Do(func() { cache.b, cache.err = NewBundle() })
	return cache.b, cache.err
}

// NewBundle generates a fresh bundle (prefer Shared).
func NewBundle() (*Bundle, error) {
	ca, err := NewCA("chekd test CA")
	if err != nil {
		return nil, err
	}
	srv, err := ca.Server("localhost", "127.0.0.1", "::1")
	if err != nil {
		return nil, err
	}
	ec, err := ca.Client("chekd test client (ECDSA)", ECDSA)
	if err != nil {
		return nil, err
	}
	rs, err := ca.Client("chekd test client (RSA)", RSA)
	if err != nil {
		return nil, err
	}
	other, err := NewCA("unrelated CA")
	if err != nil {
		return nil, err
	}
	stranger, err := other.Client("stranger", ECDSA)
	if err != nil {
		return nil, err
	}
	return &Bundle{CA: ca, Server: srv, ClientECDSA: ec, ClientRSA: rs, Stranger: stranger}, nil
}

// NewCA generates a self-signed ECDSA CA valid for a day around now.
func NewCA(commonName string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("certstest: CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"chekd tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("certstest: CA certificate: %w", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("certstest: CA certificate: %w", err)
	}
	return &CA{Cert: c, Key: key, CertPEM: pemCert(der)}, nil
}

// Pool returns a pool holding only this CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// Server issues an ECDSA server certificate for hosts (names or IP addresses).
func (ca *CA) Server(hosts ...string) (*Identity, error) {
	if len(hosts) == 0 {
		return nil, errors.New("certstest: a server certificate needs at least one host")
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: hosts[0]},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return ca.issue(tmpl, ECDSA)
}

// Client issues a client certificate with a key of the given algorithm.
func (ca *CA) Client(commonName string, alg KeyAlg) (*Identity, error) {
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: commonName, Organization: []string{"chekd tests"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	return ca.issue(tmpl, alg)
}

func (ca *CA) issue(tmpl *x509.Certificate, alg KeyAlg) (*Identity, error) {
	var key crypto.Signer
	var err error
	switch alg {
	case ECDSA:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RSA:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		return nil, fmt.Errorf("certstest: unknown key algorithm %d", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("certstest: key: %w", err)
	}
	tmpl.SerialNumber = serial()
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	if alg == RSA {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, fmt.Errorf("certstest: certificate: %w", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("certstest: certificate: %w", err)
	}
	leaf := pemCert(der)
	chain := append(append([]byte{}, leaf...), ca.CertPEM...)
	return &Identity{Cert: c, Key: key, CertPEM: leaf, ChainPEM: chain, ca: ca}, nil
}

// TLS returns the identity as a tls.Certificate with its chain.
func (id *Identity) TLS() tls.Certificate {
	return tls.Certificate{
		Certificate: [][]byte{id.Cert.Raw, id.ca.Cert.Raw},
		PrivateKey:  id.Key,
		Leaf:        id.Cert,
	}
}

// KeyPEM encodes the private key. password is used by EncryptedPKCS8 and
// LegacyPEM only, and must be non-empty for them.
func (id *Identity) KeyPEM(f KeyFormat, password []byte) ([]byte, error) {
	switch f {
	case PKCS1:
		k, ok := id.Key.(*rsa.PrivateKey)
		if !ok {
			return nil, errors.New("certstest: PKCS#1 needs an RSA key")
		}
		return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), nil
	case PKCS8:
		der, err := x509.MarshalPKCS8PrivateKey(id.Key)
		if err != nil {
			return nil, fmt.Errorf("certstest: %w", err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
	case EC:
		k, ok := id.Key.(*ecdsa.PrivateKey)
		if !ok {
			return nil, errors.New("certstest: EC encoding needs an ECDSA key")
		}
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return nil, fmt.Errorf("certstest: %w", err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
	case EncryptedPKCS8:
		if len(password) == 0 {
			return nil, errors.New("certstest: encrypted PKCS#8 needs a password")
		}
		der, err := pkcs8.MarshalPrivateKey(id.Key, password, nil)
		if err != nil {
			return nil, fmt.Errorf("certstest: %w", err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: der}), nil
	case LegacyPEM:
		if len(password) == 0 {
			return nil, errors.New("certstest: legacy encrypted PEM needs a password")
		}
		typ, der := "EC PRIVATE KEY", []byte(nil)
		switch k := id.Key.(type) {
		case *rsa.PrivateKey:
			typ, der = "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k)
		case *ecdsa.PrivateKey:
			var err error
			if der, err = x509.MarshalECPrivateKey(k); err != nil {
				return nil, fmt.Errorf("certstest: %w", err)
			}
		}
		//lint:ignore SA1019 tests must produce the legacy format merchants still have, to prove it is read.
		block, err := x509.EncryptPEMBlock(rand.Reader, typ, der, password, x509.PEMCipherAES256)
		if err != nil {
			return nil, fmt.Errorf("certstest: %w", err)
		}
		return pem.EncodeToMemory(block), nil
	}
	return nil, fmt.Errorf("certstest: unknown key format %d", f)
}

// PKCS12 encodes the certificate, the CA and the key as a DER PKCS#12 bundle
// protected by password (which may be empty).
func (id *Identity) PKCS12(password string) ([]byte, error) {
	der, err := pkcs12.Modern2023.Encode(id.Key, id.Cert, []*x509.Certificate{id.ca.Cert}, password)
	if err != nil {
		return nil, fmt.Errorf("certstest: PKCS#12: %w", err)
	}
	return der, nil
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}
