package replay

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"syscall"
	"time"

	"github.com/gwtap/gwtap/internal/collector"
)

// ProbeResult is the node's health as the probe saw it.
type ProbeResult struct {
	// Healthy is true when GET /healthz answered 200 with a health document.
	Healthy bool `json:"healthy"`
	// Node is the node's base URL.
	Node string `json:"node"`
	// Status is the HTTP status, 0 when the node did not answer.
	Status int `json:"status"`
	// State is the health document's status ("ok", "degraded"), when sent.
	State   string `json:"state,omitempty"`
	Version string `json:"version,omitempty"`
	// Records is how many records the node holds, when it says.
	Records int64 `json:"records,omitempty"`
	// RetryAfterSeconds is the node's Retry-After, when it sent one.
	RetryAfterSeconds float64 `json:"retryAfterSeconds,omitempty"`
	// Summary says in one line what the probe found; always set.
	Summary    string  `json:"summary"`
	TookMillis float64 `json:"tookMillis"`
}

// Probe asks the node's health endpoint (collector protocol §9). An
// unhealthy node is a result, not an error; Probe returns an error of
// KindNotConfigured only when no node is configured.
func (s *Service) Probe(ctx context.Context) (ProbeResult, error) {
	if s.node == nil {
		return ProbeResult{}, &Error{Kind: KindNotConfigured, Msg: "no node is configured to probe"}
	}
	start := s.now()
	h, err := s.node.Health(ctx)
	res := ProbeResult{
		Node: s.nodeURL, State: h.Status, Version: h.Version, Records: h.Records,
		TookMillis: float64(s.now().Sub(start).Microseconds()) / 1000,
	}
	if err == nil {
		res.Healthy, res.Status = true, 200
		res.Summary = "healthy (" + cmp.Or(h.Status, "ok") + ")"
		return res, nil
	}
	var ce *collector.Error
	if errors.As(err, &ce) {
		res.Status = ce.Status
		res.RetryAfterSeconds = ce.RetryAfter.Seconds()
	}
	res.Summary = unhealthySummary(res, err)
	s.log.WarnContext(ctx, "node is not healthy", "node", s.nodeURL, "summary", res.Summary, "error", err)
	return res, nil
}

// unhealthySummary says why the node is not healthy without internal
// detail: the status and state it answered, or the kind of network failure.
func unhealthySummary(r ProbeResult, err error) string {
	if r.Status != 0 {
		s := fmt.Sprintf("node answered %d", r.Status)
		if r.State != "" {
			s += " (" + r.State + ")"
		}
		if r.RetryAfterSeconds > 0 {
			s += fmt.Sprintf(", retry after %s", time.Duration(r.RetryAfterSeconds*float64(time.Second)))
		}
		return s
	}
	var (
		netErr  net.Error
		dnsErr  *net.DNSError
		verify  *tls.CertificateVerificationError
		unknown x509.UnknownAuthorityError
	)
	switch {
	case errors.As(err, &dnsErr):
		return "no answer from node: host not found"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "no answer from node: connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "no answer from node: connection reset"
	case errors.As(err, &verify), errors.As(err, &unknown):
		return "no answer from node: its TLS certificate is not trusted"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "no answer from node: timed out"
	}
	return "no answer from node"
}

// sortedKeys returns m's keys in order, for stable output.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
