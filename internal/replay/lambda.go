package replay

import (
	"context"
	"encoding/json"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
)

// Actions of a direct invocation.
const (
	ActionStatus   = "status"
	ActionPeek     = "peek"
	ActionProbe    = "probe"
	ActionRedrive  = "redrive"
	ActionReingest = "reingest"
)

// Request is a direct invocation of the replay function, as the state
// machine makes it: {"action": "redrive", "max": 500, ...}.
type Request struct {
	Action string `json:"action"`
	// Sample is status's sample size; Limit is peek's message count.
	Sample int `json:"sample,omitempty"`
	Limit  int `json:"limit,omitempty"`
	// The redrive (and, for DryRun, Max and BudgetSeconds, reingest)
	// options.
	RedriveRequest
	// Run describes the run a redrive page belongs to.
	Run *Run `json:"run,omitempty"`
}

// Run is the state of a multi-page re-drive that the state machine carries
// from page to page.
type Run struct {
	// StartedAt is when the run began ($$.Execution.StartTime).
	StartedAt time.Time `json:"startedAt"`
	// BudgetSeconds is the whole run's time budget.
	BudgetSeconds float64 `json:"budgetSeconds"`
	// MaxMessages bounds the messages the whole run moves; 0 means none.
	MaxMessages int `json:"maxMessages"`
	// Moved is how many the run's earlier pages moved.
	Moved int `json:"moved"`
}

// PageResult is a redrive invocation's answer: the call's result and
// whether the state machine should run another page.
type PageResult struct {
	RedriveResult
	// More is true when the page stopped only for its own limits (budget,
	// max) and the run has time and messages left.
	More bool `json:"more"`
}

// LambdaHandler is the replay function's handler. One handler serves both
// kinds of event the function gets: direct JSON invocations (Request, from
// Step Functions or `aws lambda invoke`) and HTTP requests from its Function
// URL, which it passes to the admin API.
type LambdaHandler struct {
	s     *Service
	proxy *httpadapter.HandlerAdapterV2
}

// NewLambdaHandler returns the replay function's handler over s.
func NewLambdaHandler(s *Service) *LambdaHandler {
	return &LambdaHandler{s: s, proxy: httpadapter.NewV2(NewAdminHandler(s))}
}

// shape holds the fields that tell the two kinds of event apart.
type shape struct {
	Action         *string `json:"action"`
	RequestContext *struct {
		HTTP *json.RawMessage `json:"http"`
	} `json:"requestContext"`
}

// Invoke handles one invocation. A Function URL event (payload format 2.0,
// recognised by requestContext.http) is served by the admin API and answered
// with an HTTP response; anything with an "action" is a direct invocation.
// A failed direct invocation returns a messages.InvokeResponse_Error whose
// Type is one of the ErrorType constants, so Step Functions can match it,
// and whose message holds no internals (they are logged).
func (h *LambdaHandler) Invoke(ctx context.Context, payload json.RawMessage) (any, error) {
	var sh shape
	if err := json.Unmarshal(payload, &sh); err != nil {
		return nil, h.fail(ctx, invalid("the event is not a JSON object"))
	}
	switch {
	case sh.RequestContext != nil && sh.RequestContext.HTTP != nil:
		// Function URLs send API Gateway's HTTP API payload format 2.0, so
		// the proxy's V2 adapter serves them.
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, h.fail(ctx, invalid("the Function URL event cannot be decoded"))
		}
		resp, err := h.proxy.ProxyWithContext(ctx, ev)
		if err != nil {
			return nil, h.fail(ctx, &Error{Kind: KindInternal, Msg: "serving the admin request failed", Err: err})
		}
		return resp, nil
	case sh.Action != nil:
		var req Request
		if err := decodeJSON(payload, &req); err != nil {
			return nil, h.fail(ctx, err)
		}
		res, err := h.Direct(ctx, req)
		if err != nil {
			return nil, h.fail(ctx, err)
		}
		return res, nil
	}
	return nil, h.fail(ctx, invalid(`unrecognised event: send {"action": "status"|"peek"|"probe"|"redrive"|"reingest", ...} or call the Function URL`))
}

// fail logs err and returns the error Lambda reports for a direct
// invocation.
func (h *LambdaHandler) fail(ctx context.Context, err error) error {
	p := h.s.report(ctx, err)
	msg := p.Message
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		msg += " (request " + lc.AwsRequestID + ")"
	}
	return messages.InvokeResponse_Error{Type: p.Type, Message: msg}
}

// Direct runs a direct invocation's action.
func (h *LambdaHandler) Direct(ctx context.Context, req Request) (any, error) {
	switch req.Action {
	case ActionStatus:
		return h.s.Status(ctx, req.Sample)
	case ActionPeek:
		msgs, err := h.s.Peek(ctx, req.Limit)
		return map[string]any{"messages": msgs}, err
	case ActionProbe:
		return h.s.Probe(ctx)
	case ActionReingest:
		o, err := ReingestRequest{DryRun: req.DryRun, Max: req.Max, BudgetSeconds: req.BudgetSeconds}.options()
		if err != nil {
			return nil, err
		}
		// A direct re-ingest is a whole run.
		o.Release = true
		return h.s.Reingest(ctx, o)
	case ActionRedrive:
		return h.page(ctx, req)
	}
	return nil, invalid("unknown action %q: use status, peek, probe, redrive or reingest", req.Action)
}

// page runs one page of a re-drive. Without Run it is a whole run, and the
// messages it set aside are released at its end; within a run they stay
// hidden until the run's deadline, so later pages do not see them again.
func (h *LambdaHandler) page(ctx context.Context, req Request) (PageResult, error) {
	o, err := req.options()
	if err != nil {
		return PageResult{}, err
	}
	run := req.Run
	if run == nil {
		o.Release = true
		res, err := h.s.Redrive(ctx, o)
		return PageResult{RedriveResult: res}, err
	}
	if run.StartedAt.IsZero() || run.BudgetSeconds <= 0 || run.MaxMessages < 0 || run.Moved < 0 {
		return PageResult{}, invalid("run needs startedAt, a positive budgetSeconds and non-negative maxMessages and moved")
	}
	budget, err := durationField("run.budgetSeconds", run.BudgetSeconds)
	if err != nil {
		return PageResult{}, err
	}
	o.Deadline = run.StartedAt.Add(budget)
	left := -1
	if run.MaxMessages > 0 {
		left = run.MaxMessages - run.Moved
		if left <= 0 {
			return PageResult{RedriveResult: RedriveResult{DryRun: o.DryRun, Stop: StopLimit}}, nil
		}
		if o.Max == 0 || o.Max > left {
			o.Max = left
		}
	}
	// A dry run releases what it saw, so a second page would see it again.
	o.Release = o.DryRun
	res, err := h.s.Redrive(ctx, o)
	if err != nil {
		return PageResult{RedriveResult: res}, err
	}
	more := !o.DryRun && res.Received > 0 && (res.Stop == StopBudget || res.Stop == StopLimit) &&
		h.s.now().Before(o.Deadline) && (left < 0 || res.Moved < left)
	return PageResult{RedriveResult: res, More: more}, nil
}
