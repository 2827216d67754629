package collector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/gwtap/gwtap/internal/backoff"
	"github.com/gwtap/gwtap/internal/envelope"
	"github.com/gwtap/gwtap/internal/protocol"
)

// UserAgent identifies gwtap's sender to the node.
const UserAgent = "gwtap-forward (collector protocol v1)"

// drainBytes is how much of an unread body is discarded so the connection
// can be reused; beyond it, closing the connection is cheaper.
const drainBytes = 64 << 10

// Client posts batches to the node. Build one per container with New; it is
// safe for concurrent use.
type Client struct {
	cfg        Config
	hc         *http.Client
	recordsURL string
	healthURL  string
	auth       Secret // "Bearer <token>", empty without a token
	enc        *zstd.Encoder
	dec        *zstd.Decoder
	log        *slog.Logger
	now        func() time.Time
}

// New returns a Client for the node cfg describes, sending token (empty for
// none) over hc, which should come from NewHTTPClient. It returns an error
// when the zstd coders cannot be built.
func New(cfg Config, token Secret, hc *http.Client, log *slog.Logger) (*Client, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithLowerEncoderMem(true))
	if err != nil {
		return nil, fmt.Errorf("creating zstd encoder: %w", err)
	}
	dec, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(0),
		zstd.WithDecoderMaxMemory(envelope.DefaultMaxDecodedBytes),
		zstd.WithDecoderLowmem(true),
	)
	if err != nil {
		return nil, fmt.Errorf("creating zstd decoder: %w", err)
	}
	c := &Client{
		cfg:        cfg,
		hc:         hc,
		recordsURL: cfg.BaseURL() + protocol.RecordsPath,
		healthURL:  cfg.BaseURL() + protocol.HealthPath,
		enc:        enc,
		dec:        dec,
		log:        log,
		now:        time.Now,
	}
	if token != "" {
		c.auth = "Bearer " + token
		if cfg.Scheme != "https" {
			log.Warn("the node token is sent over plain http; use https outside a trusted network", "node", cfg.BaseURL())
		}
	}
	return c, nil
}

// Answer is the node's answer to a successful Post.
type Answer struct {
	protocol.Response
	// Took is the round trip, from sending to reading the whole answer.
	Took time.Duration
}

// Post makes one attempt to post r as it is, with r.Key as the
// Idempotency-Key: no retry, no split. It returns the node's
// 200 answer, or an *Error: Transient (no answer, timeout, 408, 429, 5xx, an
// unreadable 200, or no time left before ctx's deadline), TooLarge (413), or
// Permanent (anything else). The attempt ends at Config.Timeout or at ctx's
// deadline minus the retry policy's margin, whichever comes first, so an
// answer never arrives after the invocation has to give up.
func (c *Client) Post(ctx context.Context, r Batch) (Answer, error) {
	deadline := c.now().Add(c.cfg.Timeout)
	if left, ok := c.cfg.Retry.Remaining(ctx); ok {
		if left <= 0 {
			return Answer{}, &Error{Class: Transient, Err: backoff.ErrNoTime}
		}
		if end := c.now().Add(left); end.Before(deadline) {
			deadline = end
		}
	}
	actx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()

	req, err := http.NewRequestWithContext(actx, http.MethodPost, c.recordsURL, bytes.NewReader(r.Payload))
	if err != nil {
		return Answer{}, &Error{Class: Permanent, Err: fmt.Errorf("building request: %w", err)}
	}
	h := req.Header
	h.Set(protocol.HeaderContentType, protocol.ContentTypeNDJSON)
	h.Set(protocol.HeaderContentEncoding, protocol.EncodingZstd)
	h.Set("Accept", protocol.ContentTypeJSON)
	h.Set(protocol.HeaderUserAgent, UserAgent)
	h.Set(protocol.HeaderApplicationID, c.cfg.AppID)
	if r.Key != "" {
		h.Set(protocol.HeaderIdempotencyKey, r.Key)
	}
	if r.Records > 0 {
		h.Set(protocol.HeaderRecordCount, strconv.Itoa(r.Records))
	}
	if c.auth != "" {
		h.Set(protocol.HeaderAuthorization, string(c.auth))
	}

	start := c.now()
	resp, err := c.hc.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			err = fmt.Errorf("no answer within %s: %w", deadline.Sub(start).Round(time.Millisecond), err)
		}
		return Answer{}, transportError(err)
	}
	defer closeBody(resp)
	body, err := io.ReadAll(io.LimitReader(resp.Body, protocol.MaxResponseBytes+1))
	took := c.now().Sub(start)
	if err != nil {
		return Answer{}, transportError(fmt.Errorf("reading the answer: %w", err))
	}
	if len(body) > protocol.MaxResponseBytes {
		return Answer{}, &Error{Class: Transient, Status: resp.StatusCode, Reason: fmt.Sprintf("answer longer than %d bytes", protocol.MaxResponseBytes)}
	}

	switch protocol.ActionFor(resp.StatusCode) {
	case protocol.ActionDone:
		var a Answer
		if err := json.Unmarshal(body, &a.Response); err != nil || a.Accepted < 0 || a.Duplicates < 0 {
			// The node may have stored some records; a retry only makes
			// duplicates, which it drops.
			return Answer{}, &Error{Class: Transient, Status: resp.StatusCode, Reason: "answer is not a collector protocol response: " + clip(string(body[:min(len(body), 120)]))}
		}
		a.Took = took
		return a, nil
	case protocol.ActionRetry:
		return Answer{}, &Error{Class: Transient, Status: resp.StatusCode, Reason: reason(body),
			RetryAfter: parseRetryAfter(resp.Header.Get(protocol.HeaderRetryAfter), c.now())}
	case protocol.ActionSplit:
		return Answer{}, &Error{Class: TooLarge, Status: resp.StatusCode, Reason: reason(body)}
	default:
		e := &Error{Class: Permanent, Status: resp.StatusCode, Reason: reason(body)}
		if loc := resp.Header.Get("Location"); loc != "" && resp.StatusCode >= 300 && resp.StatusCode < 400 {
			e.Reason = clip("redirect to " + loc + " not followed; fix " + EnvNodeURL + "/" + EnvNodeScheme)
		}
		return Answer{}, e
	}
}

// Health asks the node's health endpoint. It returns the node's answer, and
// an *Error when the node is not healthy (any status but 200, or no answer);
// the Health is filled whenever the body was one, so a 503 still says why.
func (c *Client) Health(ctx context.Context) (protocol.Health, error) {
	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, c.healthURL, nil)
	if err != nil {
		return protocol.Health{}, &Error{Class: Permanent, Err: fmt.Errorf("building request: %w", err)}
	}
	req.Header.Set("Accept", protocol.ContentTypeJSON)
	req.Header.Set(protocol.HeaderUserAgent, UserAgent)
	if c.auth != "" {
		req.Header.Set(protocol.HeaderAuthorization, string(c.auth))
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return protocol.Health{}, transportError(err)
	}
	defer closeBody(resp)
	body, err := io.ReadAll(io.LimitReader(resp.Body, protocol.MaxResponseBytes))
	if err != nil {
		return protocol.Health{}, transportError(fmt.Errorf("reading the answer: %w", err))
	}
	var hl protocol.Health
	jsonErr := json.Unmarshal(body, &hl)
	if resp.StatusCode == http.StatusOK && jsonErr == nil {
		return hl, nil
	}
	e := &Error{Class: Permanent, Status: resp.StatusCode, Reason: reason(body),
		RetryAfter: parseRetryAfter(resp.Header.Get(protocol.HeaderRetryAfter), c.now())}
	if protocol.ActionFor(resp.StatusCode) == protocol.ActionRetry {
		e.Class = Transient
	}
	if resp.StatusCode == http.StatusOK {
		e.Class, e.Reason = Transient, "answer is not a health document"
	}
	if jsonErr == nil && hl.Status != "" {
		e.Reason = clip("status " + hl.Status)
	}
	return hl, e
}

// reason extracts the node's explanation from an error body: ErrorBody's
// message, or else the start of whatever it sent.
func reason(body []byte) string {
	var eb protocol.ErrorBody
	if json.Unmarshal(body, &eb) == nil {
		return clip(eb.Error)
	}
	return clip(string(body[:min(len(body), maxReasonBytes)]))
}

// closeBody drains a little of what is left so the connection goes back to
// the pool, then closes.
func closeBody(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainBytes))
	_ = resp.Body.Close()
}
