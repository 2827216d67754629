package collector

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

// ErrNoCertificates means the CA file holds no PEM certificate.
var ErrNoCertificates = errors.New("no PEM certificates found")

// NewHTTPClient returns the HTTP client for the node, to build once per
// container and share: its connection pool keeps connections alive between
// invocations. TLS certificates are always verified, against cfg.CAFile when
// set (instead of the system roots) and with at least TLS 1.2. Redirects are
// not followed, so the bearer token never travels to an address other than
// the configured one. It returns an error when the CA file cannot be read or
// holds no certificate.
func NewHTTPClient(cfg Config) (*http.Client, error) {
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("reading the node CA bundle: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("reading the node CA bundle %s: %w", cfg.CAFile, ErrNoCertificates)
		}
		tlsCfg.RootCAs = pool
	}
	dialer := &net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}
	transport := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         dialer.DialContext,
		TLSClientConfig:     tlsCfg,
		TLSHandshakeTimeout: cfg.ConnectTimeout,
		ForceAttemptHTTP2:   true,
		// A function instance posts to one host, a few batches at a time;
		// keeping that many connections idle avoids a handshake per batch.
		MaxIdleConns:        32,
		MaxIdleConnsPerHost: 32,
		// Shorter than the usual load-balancer idle timeout (60 s), so the
		// client drops a connection before the other end silently does.
		IdleConnTimeout: 50 * time.Second,
		// Bodies are compressed by the sender already; answers are small.
		DisableCompression:    true,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: transport,
		// Each attempt has its own deadline (Config.Timeout) set by the
		// caller's context, so no client-wide timeout.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, nil
}
