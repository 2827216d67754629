package collector

import (
	"crypto/tls"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/gwtap/gwtap/internal/collector/collectortest"
)

// caFile writes node's self-signed certificate as a PEM bundle.
func caFile(t *testing.T, node *collectortest.Node) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: node.Certificate().Raw})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTLS(t *testing.T) {
	node := collectortest.NewUnstarted(t, nil)
	// The handshakes refused below are expected; keep them out of the output.
	node.Config.ErrorLog = log.New(io.Discard, "", 0)
	node.StartTLS()
	b := batch(t, "k", ids("a", 2))
	httpsConfig := func(ca string) Config {
		cfg := testConfig(t, node.Host())
		cfg.Scheme, cfg.CAFile = "https", ca
		return cfg
	}

	t.Run("trusted through the CA file", func(t *testing.T) {
		c := newClient(t, httpsConfig(caFile(t, node)), "tok")
		if _, err := c.Post(t.Context(), Batch{Payload: b.Payload}); err != nil {
			t.Fatal(err)
		}
	})
	// Verification is always on: a certificate nobody vouches for is a
	// permanent failure (retrying cannot fix it), and nothing is sent.
	t.Run("untrusted without it", func(t *testing.T) {
		before := len(node.Requests())
		c := newClient(t, httpsConfig(""), "tok")
		_, err := c.Post(t.Context(), Batch{Payload: b.Payload})
		var e *Error
		var verify *tls.CertificateVerificationError
		if !errors.As(err, &e) || e.Class != Permanent || e.Status != 0 || !errors.As(err, &verify) {
			t.Fatalf("error %v", err)
		}
		if len(node.Requests()) != before {
			t.Error("the request reached an unverified server")
		}
	})
	t.Run("https to a plain-HTTP server", func(t *testing.T) {
		plain := collectortest.Start(t, nil)
		cfg := testConfig(t, plain.Host())
		cfg.Scheme = "https"
		c := newClient(t, cfg, "tok")
		_, err := c.Post(t.Context(), Batch{Payload: b.Payload})
		var e *Error
		if !errors.As(err, &e) || e.Class != Permanent {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("bad CA files", func(t *testing.T) {
		garbage := filepath.Join(t.TempDir(), "garbage.pem")
		if err := os.WriteFile(garbage, []byte("not a certificate"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := NewHTTPClient(httpsConfig(garbage)); !errors.Is(err, ErrNoCertificates) {
			t.Errorf("garbage: %v", err)
		}
		if _, err := NewHTTPClient(httpsConfig(filepath.Join(t.TempDir(), "missing.pem"))); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("missing: %v", err)
		}
	})
	t.Run("no way to skip verification", func(t *testing.T) {
		hc, err := NewHTTPClient(httpsConfig(""))
		if err != nil {
			t.Fatal(err)
		}
		tr, ok := hc.Transport.(*http.Transport)
		if !ok || tr.TLSClientConfig.InsecureSkipVerify || tr.TLSClientConfig.MinVersion < tls.VersionTLS12 {
			t.Errorf("TLS config %+v", tr.TLSClientConfig)
		}
	})
}

// TestKeepAlive: batches after the first reuse the connection.
func TestKeepAlive(t *testing.T) {
	node := collectortest.NewUnstarted(t, nil)
	var conns atomic.Int32
	node.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	node.Start()
	c := newClient(t, testConfig(t, node.Host()), "")
	for i := range 5 {
		b := batch(t, "k", ids(string(rune('a'+i)), 3))
		if _, err := c.Post(t.Context(), Batch{Payload: b.Payload}); err != nil {
			t.Fatal(err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for 5 sequential posts", n)
	}
}
