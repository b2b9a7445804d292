// Package certs turns the TLS material a merchant downloads from the Chekonline
// cabinet into a tls.Certificate and an optional extra CA pool.
//
// It accepts a PEM certificate (a chain is allowed) with a PEM private key in
// PKCS#1, PKCS#8, SEC1 (EC), encrypted PKCS#8 or legacy encrypted PEM, or a
// DER PKCS#12 bundle. Its errors say what is wrong in words a merchant can act
// on, and name the YAML keys (key_password) where that helps.
//
// It must never put key bytes or a password into an error, and it never reads
// files or talks to the network: the caller hands it bytes.
package certs

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/youmark/pkcs8"
	"software.sslmate.com/src/go-pkcs12"
)

// Errors a caller may test with errors.Is. Their texts are the messages a
// merchant sees (after the config key the caller puts in front).
var (
	ErrNoCertificate   = errors.New("certificate: no PEM CERTIFICATE block")
	ErrNoPrivateKey    = errors.New("private key: no PEM PRIVATE KEY block")
	ErrWrongPassword   = errors.New("private key: wrong key_password")
	ErrMissingPassword = errors.New("private key: encrypted but no key_password given")
	ErrKeyMismatch     = errors.New("private key does not match the certificate")
)

// LoadKeyPair builds a client certificate from certPEM and keyPEM.
//
// certPEM holds one or more PEM CERTIFICATE blocks, the leaf first. When keyPEM
// is empty and certPEM is not PEM, certPEM is read as a DER PKCS#12 bundle
// (.p12/.pfx) holding both; when keyPEM is empty and certPEM is PEM, the key is
// looked for in certPEM too (a combined file). password decrypts an encrypted
// key or the PKCS#12 bundle and is ignored for a plain key.
func LoadKeyPair(certPEM, keyPEM []byte, password []byte) (tls.Certificate, error) {
	if len(bytes.TrimSpace(keyPEM)) == 0 && len(certPEM) > 0 && !isPEM(certPEM) {
		return loadPKCS12(certPEM, password)
	}
	chain, leaf, err := parseChain(certPEM)
	if err != nil {
		return tls.Certificate{}, err
	}
	if len(bytes.TrimSpace(keyPEM)) == 0 {
		keyPEM = certPEM
	}
	key, err := parseKey(keyPEM, password)
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := matches(leaf, key); err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}, nil
}

// CAPool returns the system roots plus every certificate in caPEM, for servers
// whose certificate is not signed by a public CA. An empty caPEM is an error:
// a caller without an extra CA passes a nil pool to mean "system roots only".
func CAPool(caPEM []byte) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	n := 0
	rest := caPEM
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("ca: certificate %d: %w", n+1, err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, errors.New("ca: no PEM CERTIFICATE block")
	}
	return pool, nil
}

func isPEM(b []byte) bool {
	return bytes.Contains(b, []byte("-----BEGIN "))
}

// parseChain returns the DER chain and the parsed leaf.
func parseChain(certPEM []byte) ([][]byte, *x509.Certificate, error) {
	var chain [][]byte
	var leaf *x509.Certificate
	rest := certPEM
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, nil, fmt.Errorf("certificate: block %d is not a valid X.509 certificate: %w", len(chain)+1, err)
		}
		if leaf == nil {
			leaf = c
		}
		chain = append(chain, block.Bytes)
	}
	if leaf == nil {
		return nil, nil, ErrNoCertificate
	}
	return chain, leaf, nil
}

// parseKey finds the first private key block in keyPEM and decodes it.
// Errors never carry key bytes or the password.
func parseKey(keyPEM, password []byte) (crypto.Signer, error) {
	rest := keyPEM
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, ErrNoPrivateKey
		}
		if !strings.HasSuffix(block.Type, "PRIVATE KEY") {
			continue // CERTIFICATE, EC PARAMETERS, ...
		}
		return decodeKeyBlock(block, password)
	}
}

func decodeKeyBlock(block *pem.Block, password []byte) (crypto.Signer, error) {
	//lint:ignore SA1019 legacy encrypted PEM (Proc-Type: 4,ENCRYPTED) is what older cabinets and openssl rsa -des3 produce; merchants still have such keys.
	if x509.IsEncryptedPEMBlock(block) {
		if len(password) == 0 {
			return nil, ErrMissingPassword
		}
		//lint:ignore SA1019 see above: the only way to read legacy encrypted PEM keys; the weak padding oracle is irrelevant for a local file.
		der, err := x509.DecryptPEMBlock(block, password)
		if err != nil {
			if errors.Is(err, x509.IncorrectPasswordError) {
				return nil, ErrWrongPassword
			}
			return nil, fmt.Errorf("private key: legacy encrypted PEM: %w", err)
		}
		key, err := parseDER(block.Type, der)
		if err != nil {
			// A wrong password passes the padding check now and then and
			// leaves garbage behind.
			return nil, ErrWrongPassword
		}
		return key, nil
	}
	if block.Type == "ENCRYPTED PRIVATE KEY" {
		if len(password) == 0 {
			return nil, ErrMissingPassword
		}
		k, err := parseEncryptedPKCS8(block.Bytes, password)
		if err != nil {
			msg := err.Error()
			if strings.Contains(msg, "unsupported") || strings.Contains(msg, "only ") || strings.Contains(msg, "invalid") {
				return nil, fmt.Errorf("private key: encrypted PKCS#8 in a form not supported: %w", err)
			}
			return nil, ErrWrongPassword
		}
		return signer(k)
	}
	return parseDER(block.Type, block.Bytes)
}

// parseEncryptedPKCS8 guards pkcs8.ParsePrivateKey, whose CBC step panics on
// a ciphertext or IV of the wrong length: a corrupt file must give an error.
func parseEncryptedPKCS8(der, password []byte) (k any, err error) {
	defer func() {
		if r := recover(); r != nil {
			k, err = nil, errors.New("invalid encrypted PKCS#8 structure")
		}
	}()
	k, _, err = pkcs8.ParsePrivateKey(der, password)
	return k, err
}

// parseDER tries the format the PEM type names first, then the others: files
// renamed by hand often carry the wrong label.
func parseDER(typ string, der []byte) (crypto.Signer, error) {
	type parser func([]byte) (any, error)
	pkcs1 := func(b []byte) (any, error) { return x509.ParsePKCS1PrivateKey(b) }
	sec1 := func(b []byte) (any, error) { return x509.ParseECPrivateKey(b) }
	order := []parser{x509.ParsePKCS8PrivateKey, pkcs1, sec1}
	switch typ {
	case "RSA PRIVATE KEY":
		order = []parser{pkcs1, x509.ParsePKCS8PrivateKey, sec1}
	case "EC PRIVATE KEY":
		order = []parser{sec1, x509.ParsePKCS8PrivateKey, pkcs1}
	}
	var first error
	for _, p := range order {
		k, err := p(der)
		if err == nil {
			return signer(k)
		}
		if first == nil {
			first = err
		}
	}
	return nil, fmt.Errorf("private key: %q block is not a PKCS#1, PKCS#8 or EC key: %w", typ, first)
}

func signer(k any) (crypto.Signer, error) {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	default:
		return nil, fmt.Errorf("private key: unsupported key type %T (want RSA, ECDSA or Ed25519)", k)
	}
}

func matches(leaf *x509.Certificate, key crypto.Signer) error {
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(leaf.PublicKey) {
		return ErrKeyMismatch
	}
	return nil
}

func loadPKCS12(der, password []byte) (tls.Certificate, error) {
	key, leaf, cas, err := pkcs12.DecodeChain(der, string(password))
	if err != nil {
		switch {
		case errors.Is(err, pkcs12.ErrIncorrectPassword), errors.Is(err, pkcs12.ErrDecryption):
			if len(password) == 0 {
				return tls.Certificate{}, errors.New("certificate bundle (PKCS#12): encrypted but no key_password given")
			}
			return tls.Certificate{}, errors.New("certificate bundle (PKCS#12): wrong key_password")
		}
		return tls.Certificate{}, fmt.Errorf("certificate: neither PEM nor a valid PKCS#12 bundle: %w", err)
	}
	s, err := signer(key)
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := matches(leaf, s); err != nil {
		return tls.Certificate{}, err
	}
	chain := [][]byte{leaf.Raw}
	for _, c := range cas {
		chain = append(chain, c.Raw)
	}
	return tls.Certificate{Certificate: chain, PrivateKey: s, Leaf: leaf}, nil
}
