package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/gwtap/gwtap/internal/protocol"
)

// Admin API paths.
const (
	PathDLQ         = "/v1/dlq"
	PathDLQMessages = "/v1/dlq/messages"
	PathReplay      = "/v1/replay"
	PathReingest    = "/v1/reingest"
	PathNodeHealth  = "/v1/node/health"
)

// maxRequestBytes bounds an admin request body.
const maxRequestBytes = 16 << 10

// RedriveRequest is the JSON form of RedriveOptions, as the admin API's
// POST /v1/replay and a direct "redrive" invocation take it.
type RedriveRequest struct {
	DryRun        bool    `json:"dryRun,omitempty"`
	Max           int     `json:"max,omitempty"`
	Rate          float64 `json:"rate,omitempty"`
	Reason        string  `json:"reason,omitempty"`
	BudgetSeconds float64 `json:"budgetSeconds,omitempty"`
	MaxReplays    int     `json:"maxReplays,omitempty"`
	MaxAgeSeconds float64 `json:"maxAgeSeconds,omitempty"`
}

// options converts r, rejecting values no duration can hold.
func (r RedriveRequest) options() (RedriveOptions, error) {
	budget, err := durationField("budgetSeconds", r.BudgetSeconds)
	if err != nil {
		return RedriveOptions{}, err
	}
	maxAge, err := durationField("maxAgeSeconds", r.MaxAgeSeconds)
	if err != nil {
		return RedriveOptions{}, err
	}
	o := RedriveOptions{DryRun: r.DryRun, Max: r.Max, Rate: r.Rate, Reason: r.Reason, Budget: budget, MaxReplays: r.MaxReplays, MaxAge: maxAge}
	return o, o.check()
}

// ReingestRequest is the JSON form of ReingestOptions.
type ReingestRequest struct {
	DryRun        bool    `json:"dryRun,omitempty"`
	Max           int     `json:"max,omitempty"`
	BudgetSeconds float64 `json:"budgetSeconds,omitempty"`
}

func (r ReingestRequest) options() (ReingestOptions, error) {
	budget, err := durationField("budgetSeconds", r.BudgetSeconds)
	return ReingestOptions{DryRun: r.DryRun, Max: r.Max, Budget: budget}, err
}

// durationField converts seconds to a Duration of at most 12 hours.
func durationField(name string, secs float64) (time.Duration, error) {
	if math.IsNaN(secs) || secs < 0 || secs > maxVisibility.Seconds() {
		return 0, invalid("%s must be between 0 and %d", name, int(maxVisibility.Seconds()))
	}
	return time.Duration(secs * float64(time.Second)), nil
}

// NewAdminHandler returns the replay admin API over s, served by the replay
// function's Function URL (AuthType AWS_IAM, so every caller is an
// authenticated IAM principal) and usable on its own:
//
//	GET  /v1/dlq                  Status (?sample=N)
//	GET  /v1/dlq/messages         Peek (?limit=N)
//	POST /v1/replay               Redrive, RedriveRequest as the body
//	POST /v1/reingest             Reingest, ReingestRequest as the body
//	GET  /v1/node/health          Probe: 200 when healthy, else 503
//
// Answers are JSON; errors are {"error": "..."} with a status from Describe.
// A replay run through the API is a single call, so it makes the messages
// it set aside visible again when it ends.
func NewAdminHandler(s *Service) http.Handler {
	a := &admin{s: s}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathDLQ, a.status)
	mux.HandleFunc("GET "+PathDLQMessages, a.peek)
	mux.HandleFunc("POST "+PathReplay, a.replay)
	mux.HandleFunc("POST "+PathReingest, a.reingest)
	mux.HandleFunc("GET "+PathNodeHealth, a.probe)
	for path, allow := range map[string]string{
		PathDLQ: "GET", PathDLQMessages: "GET", PathReplay: "POST", PathReingest: "POST", PathNodeHealth: "GET",
	} {
		mux.HandleFunc(path, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Allow", allow)
			writeJSON(w, http.StatusMethodNotAllowed, protocol.ErrorBody{Error: "use " + allow})
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusNotFound, protocol.ErrorBody{Error: "no such endpoint; see " + PathDLQ + ", " + PathDLQMessages + ", " + PathReplay + ", " + PathReingest + ", " + PathNodeHealth})
	})
	return a.logged(mux)
}

type admin struct{ s *Service }

// logged logs each request with the caller's IAM identity, which the
// Function URL puts in the request context.
func (a *admin) logged(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attrs := []any{"method", r.Method, "path", r.URL.Path}
		if rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context()); ok && rc.Authorizer != nil && rc.Authorizer.IAM != nil {
			attrs = append(attrs, "caller", rc.Authorizer.IAM.UserARN)
		}
		a.s.log.InfoContext(r.Context(), "admin request", attrs...)
		next.ServeHTTP(w, r)
	})
}

func (a *admin) status(w http.ResponseWriter, r *http.Request) {
	n, err := queryInt(r, "sample")
	if err == nil {
		var st Status
		if st, err = a.s.Status(r.Context(), n); err == nil {
			writeJSON(w, http.StatusOK, st)
			return
		}
	}
	a.fail(w, r, err)
}

func (a *admin) peek(w http.ResponseWriter, r *http.Request) {
	n, err := queryInt(r, "limit")
	if err == nil {
		var msgs []Message
		if msgs, err = a.s.Peek(r.Context(), n); err == nil {
			writeJSON(w, http.StatusOK, map[string]any{"messages": msgs})
			return
		}
	}
	a.fail(w, r, err)
}

func (a *admin) replay(w http.ResponseWriter, r *http.Request) {
	var req RedriveRequest
	if err := decodeBody(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	o, err := req.options()
	if err != nil {
		a.fail(w, r, err)
		return
	}
	o.Release = true
	res, err := a.s.Redrive(r.Context(), o)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (a *admin) reingest(w http.ResponseWriter, r *http.Request) {
	var req ReingestRequest
	if err := decodeBody(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	o, err := req.options()
	if err != nil {
		a.fail(w, r, err)
		return
	}
	o.Release = true
	res, err := a.s.Reingest(r.Context(), o)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (a *admin) probe(w http.ResponseWriter, r *http.Request) {
	res, err := a.s.Probe(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if !res.Healthy {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, res)
}

// fail logs err with its internals and answers with Describe's status and
// message only.
func (a *admin) fail(w http.ResponseWriter, r *http.Request, err error) {
	p := a.s.report(r.Context(), err)
	writeJSON(w, p.Status, protocol.ErrorBody{Error: p.Message})
}

// report logs err in full and returns its public description.
func (s *Service) report(ctx context.Context, err error) Public {
	p := Describe(err)
	level := slog.LevelWarn
	if p.Status >= 500 {
		level = slog.LevelError
	}
	s.log.Log(ctx, level, "replay request failed", "status", p.Status, "type", p.Type, "error", err)
	return p
}

// decodeBody decodes a JSON body into v; an empty body leaves v as it is.
// Unknown fields are refused, so a misspelt option is not silently ignored.
func decodeBody(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
	if err != nil {
		return unavailable("reading the request body failed", err)
	}
	if len(body) > maxRequestBytes {
		return invalid("request body is larger than %d bytes", maxRequestBytes)
	}
	return decodeJSON(body, v)
}

// decodeJSON decodes one JSON document strictly; nothing (or only space)
// leaves v as it is.
func decodeJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return invalid("request is not valid JSON for this action: %s", jsonProblem(err))
	}
	if dec.More() {
		return invalid("request holds more than one JSON document")
	}
	return nil
}

// jsonProblem describes a decoding error without echoing the input back.
func jsonProblem(err error) string {
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syntax):
		return "syntax error at byte " + strconv.FormatInt(syntax.Offset, 10)
	case errors.As(err, &typ):
		return "field " + strconv.Quote(typ.Field) + " must be " + typ.Type.String()
	}
	// encoding/json's message for an unknown field names the field, which
	// the caller wrote; it holds nothing else of theirs.
	return err.Error()
}

// queryInt reads an optional non-negative integer query parameter.
func queryInt(r *http.Request, name string) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, invalid("%s must be a non-negative integer", name)
	}
	return n, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", protocol.ContentTypeJSON)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
