package faults

import (
	"bytes"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gwtap/gwtap/internal/collector"
	"github.com/gwtap/gwtap/internal/collector/collectortest"
	"github.com/gwtap/gwtap/internal/samtemplate"
)

// nodeConfig returns a collector configuration for host from env settings.
func nodeConfig(t *testing.T, host, scheme string, more map[string]string) collector.Config {
	t.Helper()
	env := map[string]string{
		collector.EnvNodeURL: host, collector.EnvNodeScheme: scheme, collector.EnvAppID: "7",
		collector.EnvTimeout: "2s", collector.EnvConnectTimeout: "1s", collector.EnvAttempts: "1",
	}
	for k, v := range more {
		env[k] = v
	}
	cfg, err := collector.LoadConfig(getenv(env))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestTLSVerificationCannotBeDisabled: an https node with a self-signed
// certificate is refused, unless its CA is given with GWTAP_NODE_CA_FILE;
// no setting turns verification off.
func TestTLSVerificationCannotBeDisabled(t *testing.T) {
	t.Parallel()
	n := collectortest.NewUnstarted(t, nil)
	n.StartTLS()
	health := func(cfg collector.Config) error {
		t.Helper()
		hc, err := collector.NewHTTPClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if tr, ok := hc.Transport.(*http.Transport); !ok || tr.TLSClientConfig == nil || tr.TLSClientConfig.InsecureSkipVerify {
			t.Fatalf("transport %T does not verify certificates", hc.Transport)
		}
		c, err := collector.New(cfg, "", hc, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Health(t.Context())
		return err
	}

	// Settings someone might try to turn verification off with change nothing.
	insecure := map[string]string{}
	for _, k := range []string{"GWTAP_NODE_INSECURE", "GWTAP_NODE_TLS_SKIP_VERIFY", "GWTAP_NODE_INSECURE_SKIP_VERIFY", "GWTAP_NODE_VERIFY_TLS"} {
		insecure[k] = "true"
	}
	insecure["GWTAP_NODE_VERIFY_TLS"] = "false"
	if err := health(nodeConfig(t, n.Host(), "https", insecure)); err == nil {
		t.Error("a self-signed node was trusted without its CA")
	} else {
		t.Logf("without the CA: %v", err)
	}

	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: n.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := health(nodeConfig(t, n.Host(), "https", map[string]string{collector.EnvCAFile: ca})); err != nil {
		t.Errorf("with the CA configured: %v", err)
	}

	// A CA file that is not PEM is an error at start, not a silent fallback.
	junk := filepath.Join(t.TempDir(), "junk.pem")
	if err := os.WriteFile(junk, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := collector.NewHTTPClient(nodeConfig(t, n.Host(), "https", map[string]string{collector.EnvCAFile: junk})); !errors.Is(err, collector.ErrNoCertificates) {
		t.Errorf("a junk CA file: %v, want ErrNoCertificates", err)
	}
	// And a CA file with plain http is refused outright.
	if _, err := collector.LoadConfig(getenv(map[string]string{
		collector.EnvNodeURL: n.Host(), collector.EnvNodeScheme: "http", collector.EnvAppID: "7", collector.EnvCAFile: ca,
	})); err == nil {
		t.Error("a CA file with X_NODE_SCHEME=http was accepted")
	}
}

// lockedBuffer is a bytes.Buffer safe for the concurrent writes of loggers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestNodeToken: a node with a token refuses requests without it or with a
// wrong one (401), and neither the token nor a wrong one ever appears in the
// logs of forward, collector and the node, nor in the DLQ's reasons.
func TestNodeToken(t *testing.T) {
	t.Parallel()
	const (
		token = "tok-Zq8vN3xK7pLm2Wd9"
		wrong = "tok-WRONGwrongWRONG42"
	)
	var logs lockedBuffer
	h := start(t, options{
		nodeToken: token, fwdToken: token, maxReceive: 5,
		log: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})

	// Straight at the node.
	for _, tc := range []struct {
		name, auth string
		want       int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"wrong token", "Bearer " + wrong, http.StatusUnauthorized},
		{"token without Bearer", token, http.StatusUnauthorized},
		{"right token", "Bearer " + token, http.StatusOK}, // an empty batch: nothing to take
	} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, h.node.URL+"/v1/records", strings.NewReader(""))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-ndjson")
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, resp.StatusCode, body, tc.want)
		}
		if bytes.Contains(body, []byte(token)) || bytes.Contains(body, []byte(wrong)) {
			t.Errorf("%s: the answer echoes a token: %s", tc.name, body)
		}
	}

	// Through the pipeline, with the right token, then with a wrong one.
	evs, ids := corpus(t, 77, 400, 200)
	h.send(evs[:1])
	h.drain(time.Minute)
	h.setForward(wrong)
	h.send(evs[1:])
	h.drain(time.Minute)
	dlq := h.dlq()
	if len(dlq) == 0 {
		t.Fatal("nothing dead-lettered with the wrong token")
	}
	for _, m := range dlq {
		if m.status != "401" || strings.Contains(m.reason, token) || strings.Contains(m.reason, wrong) {
			t.Errorf("DLQ message: status %q reason %q", m.status, m.reason)
		}
	}
	h.setForward(token)
	h.redrive()
	h.drain(time.Minute)
	c := h.account(ids, nil)
	t.Logf("token: %s", c)

	out := logs.String()
	if !strings.Contains(out, "batch forwarded") || !strings.Contains(out, "401") {
		t.Fatalf("the capture misses forward's logs or the 401s:\n%s", out)
	}
	for _, s := range []string{token, wrong} {
		if strings.Contains(out, s) {
			i := strings.Index(out, s)
			t.Errorf("a token appears in the logs: …%s…", out[max(0, i-200):min(len(out), i+50)])
		}
	}
	t.Logf("%d bytes of logs checked", len(out))
}

// TestHostileInputRendersEscaped: paths and user agents carrying markup
// reach the node's pages escaped (the browser test in internal/node covers
// execution; this one checks the raw HTML).
func TestHostileInputRendersEscaped(t *testing.T) {
	t.Parallel()
	h := start(t, options{})
	payloads := []struct{ path, ua string }{
		{"/v1/<script>alert(1)</script>", `"><img src=x onerror=alert(2)>`},
		{`/v1/"><img src=x onerror=alert(3)>`, `<script>alert(4)</script>`},
		{"/v1/x'onmouseover='alert(5)", `</textarea><svg onload=alert(6)>`},
	}
	var lines []string
	now := time.Now().UnixMilli()
	for i := range 8 {
		for j, p := range payloads {
			lines = append(lines, accessLine(fmt.Sprintf("xss-%d-%d", j, i), "GET", p.path, p.ua, now-int64(i)))
		}
	}
	evs, ids := eventsOf(t, lines, len(lines))
	h.send(evs)
	h.drain(time.Minute)
	c := h.account(ids, nil)
	t.Logf("hostile input: %s", c)

	get := func(path string) string {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, h.node.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	pages := map[string]string{"/": get("/")}
	inv := get("/v1/inventory")
	for _, m := range regexp.MustCompile(`"id":"([^"]+)"`).FindAllStringSubmatch(inv, -1) {
		pages["/endpoints/"+m[1]] = get("/endpoints/" + m[1])
	}
	if len(pages) < 2 {
		t.Fatalf("no endpoint pages to check; inventory: %s", inv)
	}
	// Markup that would be live if unescaped; "onerror=alert" alone is
	// harmless text once its "<img" is escaped.
	raw := []string{"<script>alert", "<img src=x", "<svg onload", "'onmouseover='", "</textarea>"}
	escaped := 0
	for path, html := range pages {
		for _, r := range raw {
			if strings.Contains(html, r) {
				i := strings.Index(html, r)
				t.Errorf("%s renders %q raw: …%s…", path, r, html[max(0, i-80):min(len(html), i+80)])
			}
		}
		if strings.Contains(html, "&lt;script&gt;") || strings.Contains(html, "&lt;img") || strings.Contains(html, "&#34;&gt;&lt;") {
			escaped++
		}
	}
	if escaped == 0 {
		t.Error("no page shows the hostile values at all (escaped): the test checks nothing")
	}
	t.Logf("%d pages checked, %d show escaped markup", len(pages), escaped)
}

// TestIAMGrantsExactly lists every action granted to every function role,
// the state machine and the other roles of template.yaml — written
// statements, SAM policy templates (expanded as SAM does), both branches of
// conditional policies, and what SAM adds for event sources and
// destinations — and asserts the exact set, so any new grant is a reviewed
// change of this list.
func TestIAMGrantsExactly(t *testing.T) {
	t.Parallel()
	tpl, err := samtemplate.Load(filepath.Join("..", "..", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// SAM's policy templates, as SAM expands them (policy_templates.json).
	templates := map[string][]string{
		"SQSSendMessagePolicy": {"sqs:SendMessage*"},
		"SQSPollerPolicy": {"sqs:ChangeMessageVisibility", "sqs:ChangeMessageVisibilityBatch", "sqs:DeleteMessage",
			"sqs:DeleteMessageBatch", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"},
	}
	basic := []string{"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"} // AWSLambdaBasicExecutionRole
	name := func(v any) string {
		switch v := v.(type) {
		case string:
			return v
		case map[string]any:
			if ga, ok := v["Fn::GetAtt"].([]any); ok && len(ga) > 0 {
				return fmt.Sprint(ga[0])
			}
			if r, ok := v["Ref"]; ok {
				return fmt.Sprintf("Ref(%v)", r)
			}
			if s, ok := v["Fn::Sub"]; ok {
				return fmt.Sprintf("Sub(%v)", s)
			}
			if q, ok := v["QueueName"]; ok {
				return fmt.Sprint(q.(map[string]any)["Fn::GetAtt"].([]any)[0])
			}
		}
		return fmt.Sprintf("%v", v)
	}
	got := map[string][]string{}
	add := func(who string, actions []string, on string) {
		for _, a := range actions {
			got[who] = append(got[who], a+" on "+on)
		}
	}
	var policy func(who, where string, p any)
	policy = func(who, where string, p any) {
		switch p := p.(type) {
		case string:
			t.Errorf("%s: managed policy %q: every grant must be listed in the template", where, p)
		case map[string]any:
			if branches, ok := p["Fn::If"].([]any); ok && len(branches) == 3 {
				policy(who, where+".If[1]", branches[1])
				policy(who, where+".If[2]", branches[2])
				return
			}
			if r, ok := p["Ref"]; ok && r == "AWS::NoValue" {
				return
			}
			if doc, ok := p["PolicyDocument"]; ok {
				policy(who, where, doc)
				return
			}
			if sts, ok := p["Statement"].([]any); ok {
				for i, s := range sts {
					st := s.(map[string]any)
					if st["Effect"] != "Allow" || st["NotAction"] != nil || st["NotResource"] != nil {
						t.Errorf("%s.Statement[%d]: %v", where, i, st)
					}
					var actions []string
					switch a := st["Action"].(type) {
					case string:
						actions = []string{a}
					case []any:
						for _, x := range a {
							actions = append(actions, x.(string))
						}
					}
					res := st["Resource"]
					if l, ok := res.([]any); ok {
						for _, r := range l {
							add(who, actions, name(r))
						}
					} else {
						add(who, actions, name(res))
					}
				}
				return
			}
			for k, v := range p {
				acts, ok := templates[k]
				if !ok {
					t.Errorf("%s: unknown SAM policy template %s", where, k)
					continue
				}
				add(who, acts, name(v))
			}
		default:
			t.Errorf("%s: unexpected policy %#v", where, p)
		}
	}
	for _, r := range tpl.Resources() {
		switch r.Type {
		case samtemplate.FunctionType:
			props, err := tpl.FunctionProperties(r.LogicalID)
			if err != nil {
				t.Fatal(err)
			}
			if props["Role"] != nil {
				t.Errorf("%s has its own Role: list its grants here", r.LogicalID)
			}
			pols, _ := tpl.Policies(r.LogicalID)
			for i, p := range pols {
				policy(r.LogicalID, fmt.Sprintf("%s.Policies[%d]", r.LogicalID, i), p)
			}
			add(r.LogicalID, basic, "*")
			evs, _ := tpl.Events(r.LogicalID)
			for _, e := range evs {
				if e.Type == "SQS" { // SAM adds AWSLambdaSQSQueueExecutionRole's actions
					add(r.LogicalID, []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}, name(e.Properties["Queue"]))
				}
			}
			for _, k := range []string{"OnFailure", "OnSuccess"} {
				if d, ok := samtemplate.Lookup(props, "EventInvokeConfig", "DestinationConfig", k); ok {
					dm := d.(map[string]any)
					if dm["Type"] == "SQS" { // SAM adds sqs:SendMessage on the destination
						add(r.LogicalID, []string{"sqs:SendMessage"}, name(dm["Destination"]))
					}
				}
			}
		case "AWS::Serverless::StateMachine":
			if r.Properties["Role"] != nil {
				t.Errorf("%s has its own Role: list its grants here", r.LogicalID)
			}
			pols := r.Properties["Policies"]
			if l, ok := pols.([]any); ok {
				for i, p := range l {
					policy(r.LogicalID, fmt.Sprintf("%s.Policies[%d]", r.LogicalID, i), p)
				}
			} else if pols != nil {
				policy(r.LogicalID, r.LogicalID+".Policies", pols)
			}
		case "AWS::IAM::Role":
			if r.Properties["ManagedPolicyArns"] != nil {
				t.Errorf("%s has managed policies", r.LogicalID)
			}
			pols, _ := r.Properties["Policies"].([]any)
			for i, p := range pols {
				policy(r.LogicalID, fmt.Sprintf("%s.Policies[%d]", r.LogicalID, i), p)
			}
		case "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::User", "AWS::IAM::Group":
			t.Errorf("%s (%s): a grant outside the roles listed here", r.LogicalID, r.Type)
		}
	}
	want := map[string][]string{
		"IngestFunction": {
			"logs:CreateLogGroup on *", "logs:CreateLogStream on *", "logs:PutLogEvents on *",
			"sqs:SendMessage on IngestFailureQueue",
			"sqs:SendMessage* on TrafficQueue",
		},
		"ForwardFunction": {
			"logs:CreateLogGroup on *", "logs:CreateLogStream on *", "logs:PutLogEvents on *",
			"secretsmanager:GetSecretValue on Ref(NodeTokenSecretArn)",
			"sqs:ChangeMessageVisibility on TrafficQueue", "sqs:ChangeMessageVisibilityBatch on TrafficQueue",
			"sqs:DeleteMessage on TrafficQueue", "sqs:DeleteMessage on TrafficQueue",
			"sqs:DeleteMessageBatch on TrafficQueue",
			"sqs:GetQueueAttributes on TrafficQueue", "sqs:GetQueueAttributes on TrafficQueue",
			"sqs:ReceiveMessage on TrafficQueue", "sqs:ReceiveMessage on TrafficQueue",
			"sqs:SendMessage* on DeadLetterQueue",
			"ssm:GetParameter on Sub(arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${NodeTokenParameterName})",
		},
		"ReplayFunction": {
			"logs:CreateLogGroup on *", "logs:CreateLogStream on *", "logs:PutLogEvents on *",
			"sqs:ChangeMessageVisibility on DeadLetterQueue", "sqs:ChangeMessageVisibility on IngestFailureQueue",
			"sqs:DeleteMessage on DeadLetterQueue", "sqs:DeleteMessage on IngestFailureQueue",
			"sqs:GetQueueAttributes on DeadLetterQueue", "sqs:GetQueueAttributes on IngestFailureQueue",
			"sqs:GetQueueAttributes on TrafficQueue",
			"sqs:ReceiveMessage on DeadLetterQueue", "sqs:ReceiveMessage on IngestFailureQueue",
			"sqs:SendMessage on TrafficQueue",
		},
		"ReplayStateMachine": {"lambda:InvokeFunction on ReplayFunction"},
		"ReplayTriggerRole":  {"states:StartExecution on Ref(ReplayStateMachine)"},
	}
	for who := range got {
		slices.Sort(got[who])
	}
	for who := range want {
		slices.Sort(want[who])
	}
	for who := range got {
		if _, ok := want[who]; !ok {
			t.Errorf("%s is granted:\n  %s\nbut is not listed here", who, strings.Join(got[who], "\n  "))
		}
	}
	for who, w := range want {
		if !slices.Equal(got[who], w) {
			t.Errorf("%s is granted:\n  %s\nwant:\n  %s", who, strings.Join(got[who], "\n  "), strings.Join(w, "\n  "))
		}
	}
	for _, who := range slices.Sorted(func(yield func(string) bool) {
		for k := range got {
			if !yield(k) {
				return
			}
		}
	}) {
		t.Logf("%s: %d grants", who, len(got[who]))
	}
}
