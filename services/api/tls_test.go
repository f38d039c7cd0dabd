package api

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/drover/drover/internal/testutil"
)

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "drover test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	_ = os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	_ = os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// runServer runs a server with the config until the test ends.
func runServer(t *testing.T, cfg Config) {
	t.Helper()
	h := newHarness(t)
	srv, err := New(cfg, h.bus, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

func TestTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	cfg := DefaultConfig()
	cfg.HTTPAddr = freeAddr(t)
	cfg.TLSCertFile, cfg.TLSKeyFile = certFile, keyFile
	runServer(t, cfg)

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	testutil.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
		resp, err := client.Get("https://" + cfg.HTTPAddr + "/ping")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
			return fmt.Errorf("ping over TLS: %d %v", resp.StatusCode, resp.TLS)
		}
		return nil
	})
	// Plain HTTP gets no API.
	resp, err := http.Get("http://" + cfg.HTTPAddr + "/ping")
	if err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Errorf("plain HTTP served: %s", body)
		}
	}
	// An old TLS version is refused.
	old := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}}}
	if resp, err := old.Get("https://" + cfg.HTTPAddr + "/ping"); err == nil {
		resp.Body.Close()
		t.Error("TLS 1.1 accepted")
	}

	bad := DefaultConfig()
	bad.TLSCertFile = certFile
	if err := bad.Validate(); err == nil {
		t.Error("a certificate without its key was accepted")
	}
}

// A client that never finishes its request headers is cut off after
// ReadHeaderTimeout: slow clients cannot hold connections for ever.
func TestSlowHeadersAreCutOff(t *testing.T) {
	cfg := DefaultConfig()
	cfg.HTTPAddr = freeAddr(t)
	cfg.ReadHeaderTimeout = 300 * time.Millisecond
	runServer(t, cfg)
	var conn net.Conn
	testutil.Eventually(t, 5*time.Second, 20*time.Millisecond, func() (err error) {
		conn, err = net.Dial("tcp", cfg.HTTPAddr)
		return err
	})
	defer conn.Close()
	if _, err := conn.Write([]byte("GET /v2/apps HTTP/1.1\r\nHost: 127.0.0.1\r\n")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := io.ReadAll(conn)
	if err != nil {
		t.Fatalf("connection not closed by the server: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("closed after %s", d)
	}
	if DefaultConfig().ReadHeaderTimeout == 0 || DefaultConfig().ReadTimeout == 0 || DefaultConfig().WriteTimeout == 0 ||
		DefaultConfig().IdleTimeout == 0 || DefaultConfig().BodyLimit > 1<<20 {
		t.Errorf("defaults without limits: %+v", DefaultConfig())
	}
}
