package auth

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

// Listen opens the API's listener on addr: TLS when a certificate and key
// are named (--tls-cert, --tls-key), plain TCP otherwise.
func Listen(addr, certFile, keyFile string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("api: listen: %w", err)
	}
	if certFile == "" {
		return ln, nil
	}
	kp := &keyPairFiles{cert: certFile, key: keyFile}
	if _, err := kp.get(nil); err != nil {
		ln.Close()
		return nil, err
	}
	return tls.NewListener(ln, &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: kp.get,
		NextProtos:     []string{"h2", "http/1.1"},
	}), nil
}

// keyPairFiles serves a certificate and key from files, read again when the
// certificate file changes (checked at most every few seconds): a renewed
// certificate is used without a restart.
type keyPairFiles struct {
	cert, key string

	mu      sync.Mutex
	current *tls.Certificate
	modTime time.Time
	checked time.Time
}

func (k *keyPairFiles) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.current != nil && time.Since(k.checked) < 5*time.Second {
		return k.current, nil
	}
	k.checked = time.Now()
	st, err := os.Stat(k.cert)
	if err == nil && k.current != nil && st.ModTime().Equal(k.modTime) {
		return k.current, nil
	}
	pair, lerr := tls.LoadX509KeyPair(k.cert, k.key)
	if lerr != nil {
		if k.current != nil {
			return k.current, nil // mid-renewal: keep serving the last good pair
		}
		return nil, fmt.Errorf("api: tls: %w", lerr)
	}
	k.current = &pair
	if err == nil {
		k.modTime = st.ModTime()
	}
	return k.current, nil
}
