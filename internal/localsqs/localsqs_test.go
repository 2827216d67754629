package localsqs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/gwtap/gwtap/internal/localsqs"
	"github.com/gwtap/gwtap/internal/localsqs/localsqstest"
)

func TestStartAndClose(t *testing.T) {
	t.Parallel()
	srv := localsqstest.Start(t)

	u, err := url.Parse(srv.Endpoint())
	if err != nil {
		t.Fatalf("Endpoint() = %q: %v", srv.Endpoint(), err)
	}
	if u.Scheme != "http" || u.Hostname() != "127.0.0.1" || u.Port() == "" || u.Path != "" {
		t.Fatalf("Endpoint() = %q, want http://127.0.0.1:PORT", srv.Endpoint())
	}
	client := newClient(t, srv)
	if _, err := client.ListQueues(t.Context(), &sqs.ListQueuesInput{}); err != nil {
		t.Fatalf("ListQueues: %v", err)
	}

	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if conn, err := net.DialTimeout("tcp", u.Host, time.Second); err == nil {
		_ = conn.Close()
		t.Fatalf("%s still accepts connections after Close", u.Host)
	}
}

func TestStartInParallel(t *testing.T) {
	t.Parallel()
	first := localsqstest.Start(t)

	const more = 2
	var (
		wg      sync.WaitGroup
		servers [more]*localsqs.Server
		errs    [more]error
	)
	for i := range more {
		wg.Go(func() { servers[i], errs[i] = localsqs.Start(t.Context(), localsqs.Options{}) })
	}
	wg.Wait()
	for _, srv := range servers {
		if srv != nil {
			t.Cleanup(func() {
				if err := srv.Close(); err != nil {
					t.Error(err)
				}
			})
		}
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("parallel Start %d: %v", i, err)
		}
	}

	all := append([]*localsqs.Server{first}, servers[:]...)
	endpoints := map[string]bool{}
	for _, srv := range all {
		if endpoints[srv.Endpoint()] {
			t.Fatalf("two servers share endpoint %s", srv.Endpoint())
		}
		endpoints[srv.Endpoint()] = true
	}

	// Same queue name on every server; a message sent to one stays there.
	var urls []string
	for _, srv := range all {
		urls = append(urls, createQueues(t, srv, localsqs.QueueSpec{Name: "same"}).Traffic.URL)
	}
	sendBodies(t, newClient(t, first), urls[0], "only on the first")
	for i, srv := range all {
		want := 0
		if i == 0 {
			want = 1
		}
		if got := approximateMessages(t, newClient(t, srv), urls[i]); got != want {
			t.Errorf("server %d (%s): ApproximateNumberOfMessages = %d, want %d", i, srv.Endpoint(), got, want)
		}
	}
}

func TestStartFailsWhenPortIsTaken(t *testing.T) {
	t.Parallel()
	localsqstest.Start(t) // skips or fails t when the stand-in is missing

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening: %v", err)
	}
	defer func() { _ = ln.Close() }()
	port := ln.Addr().(*net.TCPAddr).Port

	srv, err := localsqs.Start(t.Context(), localsqs.Options{Port: port, StartTimeout: 10 * time.Second})
	if err == nil {
		_ = srv.Close()
		t.Fatalf("Start on taken port %d succeeded, want an error", port)
	}
	if errors.Is(err, localsqs.ErrNotInstalled) {
		t.Fatalf("Start on taken port: %v, want a startup error, not ErrNotInstalled", err)
	}
	t.Logf("expected error: %v", err)
}

func TestStartStopsWithContext(t *testing.T) {
	t.Parallel()
	localsqstest.Start(t) // skips or fails t when the stand-in is missing

	ctx, cancel := context.WithCancel(t.Context())
	srv, err := localsqs.Start(ctx, localsqs.Options{})
	if err != nil {
		cancel()
		t.Fatalf("Start: %v", err)
	}
	host := strings.TrimPrefix(srv.Endpoint(), "http://")
	cancel()
	waitFor(t, 10*time.Second, "the server to stop after its context is done", func() bool {
		conn, err := net.DialTimeout("tcp", host, time.Second)
		if err != nil {
			return true
		}
		_ = conn.Close()
		return false
	})
	if err := srv.Close(); err != nil {
		t.Fatalf("Close after the context ended: %v", err)
	}
}

func TestStartReportsNotInstalled(t *testing.T) {
	t.Parallel()
	pinned := `{"private": true, "devDependencies": {"local-aws-sqs": "2.0.2"}}`
	tests := []struct {
		name  string
		files map[string]string
		node  string
	}{
		{
			name:  "no node_modules",
			files: map[string]string{"package.json": pinned},
		},
		{
			name: "stale version",
			files: map[string]string{
				"package.json": pinned,
				"node_modules/local-aws-sqs/package.json": `{"name": "local-aws-sqs", "version": "1.0.0"}`,
			},
		},
		{
			name: "no Node.js",
			files: map[string]string{
				"package.json": pinned,
				"node_modules/local-aws-sqs/package.json": `{"name": "local-aws-sqs", "version": "2.0.2"}`,
			},
			node: filepath.Join(t.TempDir(), "no-such-node"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			writeFiles(t, root, tt.files)
			writeFiles(t, root, map[string]string{"go.mod": "module example.com/x\n"})
			sub := filepath.Join(root, "internal", "pkg")
			if err := os.MkdirAll(sub, 0o755); err != nil {
				t.Fatal(err)
			}

			srv, err := localsqs.Start(t.Context(), localsqs.Options{Dir: sub, Node: tt.node})
			if err == nil {
				_ = srv.Close()
				t.Fatal("Start succeeded, want ErrNotInstalled")
			}
			if !errors.Is(err, localsqs.ErrNotInstalled) {
				t.Fatalf("Start: %v, want ErrNotInstalled", err)
			}
		})
	}
}

func TestCreateQueues(t *testing.T) {
	t.Parallel()
	srv := localsqstest.Start(t)
	client := newClient(t, srv)

	tests := []struct {
		name      string
		spec      localsqs.QueueSpec
		wantDLQ   string
		wantExtra string
		wantVis   string
		wantMax   string
		wantCount int
	}{
		{
			name:      "defaults",
			spec:      localsqs.QueueSpec{Name: "plain"},
			wantDLQ:   "plain-dlq",
			wantVis:   "30",
			wantMax:   "1048576",
			wantCount: localsqs.DefaultMaxReceiveCount,
		},
		{
			name: "everything set",
			spec: localsqs.QueueSpec{
				Name:               "records",
				DLQName:            "records-dead",
				ExtraName:          "replay",
				MaxReceiveCount:    5,
				VisibilityTimeout:  time.Second,
				MaximumMessageSize: 2048,
			},
			wantDLQ:   "records-dead",
			wantExtra: "replay",
			wantVis:   "1",
			wantMax:   "2048",
			wantCount: 5,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			qs := createQueues(t, srv, tt.spec)

			want := []struct {
				q    localsqs.Queue
				name string
			}{{qs.Traffic, tt.spec.Name}, {qs.DLQ, tt.wantDLQ}, {qs.Extra, tt.wantExtra}}
			for _, w := range want {
				if w.name == "" {
					if w.q != (localsqs.Queue{}) {
						t.Errorf("got extra queue %+v, want none", w.q)
					}
					continue
				}
				checkQueue(t, client, w.q, w.name)
				attrs := queueAttributes(t, client, w.q.URL, types.QueueAttributeNameAll)
				if got := attrs["VisibilityTimeout"]; got != tt.wantVis {
					t.Errorf("queue %s: VisibilityTimeout = %q, want %q", w.name, got, tt.wantVis)
				}
				if got := attrs["MaximumMessageSize"]; got != tt.wantMax {
					t.Errorf("queue %s: MaximumMessageSize = %q, want %q", w.name, got, tt.wantMax)
				}
				if w.q != qs.Traffic && attrs["RedrivePolicy"] != "" {
					t.Errorf("queue %s: RedrivePolicy = %s, want none", w.name, attrs["RedrivePolicy"])
				}
			}

			attrs := queueAttributes(t, client, qs.Traffic.URL, types.QueueAttributeNameRedrivePolicy)
			var policy struct {
				DeadLetterTargetARN string      `json:"deadLetterTargetArn"`
				MaxReceiveCount     json.Number `json:"maxReceiveCount"`
			}
			if err := json.Unmarshal([]byte(attrs["RedrivePolicy"]), &policy); err != nil {
				t.Fatalf("RedrivePolicy %q: %v", attrs["RedrivePolicy"], err)
			}
			if policy.DeadLetterTargetARN != qs.DLQ.ARN || policy.MaxReceiveCount.String() != strconv.Itoa(tt.wantCount) {
				t.Errorf("RedrivePolicy = %+v, want target %s after %d receives", policy, qs.DLQ.ARN, tt.wantCount)
			}

			sources, err := client.ListDeadLetterSourceQueues(t.Context(), &sqs.ListDeadLetterSourceQueuesInput{QueueUrl: aws.String(qs.DLQ.URL)})
			if err != nil {
				t.Fatalf("ListDeadLetterSourceQueues: %v", err)
			}
			if !slices.Equal(sources.QueueUrls, []string{qs.Traffic.URL}) {
				t.Errorf("dead-letter sources = %v, want [%s]", sources.QueueUrls, qs.Traffic.URL)
			}

			again := createQueues(t, srv, tt.spec)
			if again != qs {
				t.Errorf("CreateQueues again = %+v, want the same queues %+v", again, qs)
			}
		})
	}
}

func TestCreateQueuesConflict(t *testing.T) {
	t.Parallel()
	srv := localsqstest.Start(t)
	createQueues(t, srv, localsqs.QueueSpec{Name: "taken", VisibilityTimeout: time.Second})

	_, err := srv.CreateQueues(t.Context(), localsqs.QueueSpec{Name: "taken", VisibilityTimeout: 2 * time.Second})
	var exists *types.QueueNameExists
	if !errors.As(err, &exists) {
		t.Fatalf("CreateQueues with other attributes: %v, want *types.QueueNameExists", err)
	}
}

func TestCreateQueuesRejectsInvalidSpec(t *testing.T) {
	t.Parallel()
	srv := localsqstest.Start(t)

	tests := []struct {
		name string
		spec localsqs.QueueSpec
	}{
		{"no name", localsqs.QueueSpec{}},
		{"bad name", localsqs.QueueSpec{Name: "has space"}},
		{"fifo name", localsqs.QueueSpec{Name: "orders.fifo"}},
		{"name too long", localsqs.QueueSpec{Name: strings.Repeat("q", 81)}},
		{"DLQ is the traffic queue", localsqs.QueueSpec{Name: "q", DLQName: "q"}},
		{"extra is the DLQ", localsqs.QueueSpec{Name: "q", ExtraName: "q-dlq"}},
		{"negative receive count", localsqs.QueueSpec{Name: "q", MaxReceiveCount: -1}},
		{"receive count too high", localsqs.QueueSpec{Name: "q", MaxReceiveCount: 1001}},
		{"negative visibility", localsqs.QueueSpec{Name: "q", VisibilityTimeout: -time.Second}},
		{"fractional visibility", localsqs.QueueSpec{Name: "q", VisibilityTimeout: 1500 * time.Millisecond}},
		{"visibility too long", localsqs.QueueSpec{Name: "q", VisibilityTimeout: 13 * time.Hour}},
		{"message size too small", localsqs.QueueSpec{Name: "q", MaximumMessageSize: 1023}},
		{"message size too large", localsqs.QueueSpec{Name: "q", MaximumMessageSize: 1<<20 + 1}},
	}
	t.Run("specs", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				_, err := srv.CreateQueues(t.Context(), tt.spec)
				if !errors.Is(err, localsqs.ErrInvalidQueueSpec) {
					t.Fatalf("CreateQueues(%+v): %v, want ErrInvalidQueueSpec", tt.spec, err)
				}
			})
		}
	})

	// The parallel subtests are done: none of them may have created a queue.
	list, err := newClient(t, srv).ListQueues(t.Context(), &sqs.ListQueuesInput{})
	if err != nil {
		t.Fatalf("ListQueues: %v", err)
	}
	if len(list.QueueUrls) != 0 {
		t.Errorf("invalid specs created queues %v", list.QueueUrls)
	}
}

func TestSendReceiveDeleteBatch(t *testing.T) {
	t.Parallel()
	srv := localsqstest.Start(t)
	client := newClient(t, srv)
	q := createQueues(t, srv, localsqs.QueueSpec{Name: "batch"}).Traffic

	entries := []types.SendMessageBatchRequestEntry{
		{
			Id:          aws.String("string-and-number"),
			MessageBody: aws.String(`{"path":"/v1/users","status":200}`),
			MessageAttributes: map[string]types.MessageAttributeValue{
				"schema":  {DataType: aws.String("String"), StringValue: aws.String("gwtap.v1")},
				"records": {DataType: aws.String("Number"), StringValue: aws.String("42")},
			},
		},
		{
			Id:          aws.String("custom-number-type"),
			MessageBody: aws.String("second"),
			MessageAttributes: map[string]types.MessageAttributeValue{
				"size": {DataType: aws.String("Number.int"), StringValue: aws.String("-7")},
			},
		},
		{Id: aws.String("no-attributes"), MessageBody: aws.String("third")},
	}
	before := time.Now().Add(-time.Second)
	sent, err := client.SendMessageBatch(t.Context(), &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.URL), Entries: entries})
	if err != nil {
		t.Fatalf("SendMessageBatch: %v", err)
	}
	after := time.Now().Add(time.Second)
	if len(sent.Failed) != 0 || len(sent.Successful) != len(entries) {
		t.Fatalf("SendMessageBatch: %d sent, failures %+v", len(sent.Successful), sent.Failed)
	}
	byMessageID := map[string]types.SendMessageBatchRequestEntry{}
	for _, ok := range sent.Successful {
		i := slices.IndexFunc(entries, func(e types.SendMessageBatchRequestEntry) bool { return *e.Id == *ok.Id })
		byMessageID[aws.ToString(ok.MessageId)] = entries[i]
	}

	got := receiveN(t, client, q.URL, len(entries))
	for _, m := range got {
		want, ok := byMessageID[aws.ToString(m.MessageId)]
		if !ok {
			t.Errorf("received unknown message %s", aws.ToString(m.MessageId))
			continue
		}
		if aws.ToString(m.Body) != aws.ToString(want.MessageBody) {
			t.Errorf("%s: body %q, want %q", *want.Id, aws.ToString(m.Body), aws.ToString(want.MessageBody))
		}
		if !sameAttributes(m.MessageAttributes, want.MessageAttributes) {
			t.Errorf("%s: message attributes %s, want %s", *want.Id, formatAttributes(m.MessageAttributes), formatAttributes(want.MessageAttributes))
		}
		if got := m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)]; got != "1" {
			t.Errorf("%s: ApproximateReceiveCount = %q, want 1", *want.Id, got)
		}
		ms, err := strconv.ParseInt(m.Attributes[string(types.MessageSystemAttributeNameSentTimestamp)], 10, 64)
		if sentAt := time.UnixMilli(ms); err != nil || sentAt.Before(before) || sentAt.After(after) {
			t.Errorf("%s: SentTimestamp = %q, want a Unix millisecond time between %s and %s", *want.Id,
				m.Attributes[string(types.MessageSystemAttributeNameSentTimestamp)], before, after)
		}
	}

	depth := queueAttributes(t, client, q.URL, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)
	if n := depth[string(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)]; n != strconv.Itoa(len(entries)) {
		t.Errorf("in flight before delete = %s, want %d", n, len(entries))
	}

	var del []types.DeleteMessageBatchRequestEntry
	for i, m := range got {
		del = append(del, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
	}
	deleted, err := client.DeleteMessageBatch(t.Context(), &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(q.URL), Entries: del})
	if err != nil {
		t.Fatalf("DeleteMessageBatch: %v", err)
	}
	if len(deleted.Failed) != 0 || len(deleted.Successful) != len(del) {
		t.Fatalf("DeleteMessageBatch: %d deleted, failures %+v", len(deleted.Successful), deleted.Failed)
	}
	depth = queueAttributes(t, client, q.URL, types.QueueAttributeNameApproximateNumberOfMessages)
	if n := depth[string(types.QueueAttributeNameApproximateNumberOfMessages)]; n != "0" {
		t.Errorf("ApproximateNumberOfMessages after delete = %s, want 0", n)
	}
}

func TestReceiveSystemAttributeNames(t *testing.T) {
	t.Parallel()
	srv := localsqstest.Start(t)
	client := newClient(t, srv)
	q := createQueues(t, srv, localsqs.QueueSpec{Name: "system-attributes"}).Traffic
	sendBodies(t, client, q.URL, "a", "b")

	// Current SDKs send MessageSystemAttributeNames; older code sends the
	// deprecated AttributeNames. Both must return the attributes asked for.
	tests := []struct {
		name  string
		input sqs.ReceiveMessageInput
	}{
		{"MessageSystemAttributeNames", sqs.ReceiveMessageInput{MessageSystemAttributeNames: []types.MessageSystemAttributeName{
			types.MessageSystemAttributeNameApproximateReceiveCount, types.MessageSystemAttributeNameSentTimestamp,
		}}},
		{"AttributeNames", sqs.ReceiveMessageInput{AttributeNames: []types.QueueAttributeName{ //nolint:staticcheck // the deprecated field is what is tested
			"ApproximateReceiveCount", "SentTimestamp",
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.input
			in.QueueUrl = aws.String(q.URL)
			out, err := client.ReceiveMessage(t.Context(), &in)
			if err != nil {
				t.Fatalf("ReceiveMessage: %v", err)
			}
			if len(out.Messages) != 1 {
				t.Fatalf("ReceiveMessage returned %d messages, want 1", len(out.Messages))
			}
			attrs := out.Messages[0].Attributes
			for _, name := range []string{"ApproximateReceiveCount", "SentTimestamp"} {
				if attrs[name] == "" {
					t.Errorf("attribute %s missing from %v", name, attrs)
				}
			}
			if len(attrs) != 2 {
				t.Errorf("attributes %v, want only the two asked for", attrs)
			}
		})
	}
}

func TestChangeMessageVisibility(t *testing.T) {
	t.Parallel()
	srv := localsqstest.Start(t)
	client := newClient(t, srv)
	q := createQueues(t, srv, localsqs.QueueSpec{Name: "visibility"}).Traffic
	sendBodies(t, client, q.URL, "retry me")

	first := receiveN(t, client, q.URL, 1)[0]
	if more := receive(t, client, q.URL, 0); len(more) != 0 {
		t.Fatalf("received %d messages while the only one is in flight", len(more))
	}
	_, err := client.ChangeMessageVisibility(t.Context(), &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(q.URL), ReceiptHandle: first.ReceiptHandle, VisibilityTimeout: 0,
	})
	if err != nil {
		t.Fatalf("ChangeMessageVisibility: %v", err)
	}
	second := receiveN(t, client, q.URL, 1)[0]
	if aws.ToString(second.MessageId) != aws.ToString(first.MessageId) {
		t.Fatalf("received %s, want %s again", aws.ToString(second.MessageId), aws.ToString(first.MessageId))
	}
	// SQS would say 2; local-aws-sqs also counts the ChangeMessageVisibility
	// (see the package documentation).
	if got := second.Attributes["ApproximateReceiveCount"]; got != "3" {
		t.Errorf("ApproximateReceiveCount = %q, want 3 (2 receives + 1 visibility change)", got)
	}
}

func TestLongPollReturnsWhenAMessageArrives(t *testing.T) {
	t.Parallel()
	srv := localsqstest.Start(t)
	client := newClient(t, srv)
	q := createQueues(t, srv, localsqs.QueueSpec{Name: "long-poll"}).Traffic

	go func() {
		time.Sleep(300 * time.Millisecond)
		// Errors show up as the receive below finding nothing.
		_, _ = client.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String("late")})
	}()
	start := time.Now()
	got := receive(t, client, q.URL, 10)
	if len(got) != 1 || aws.ToString(got[0].Body) != "late" {
		t.Fatalf("long poll returned %d messages, want the one sent while it waited", len(got))
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Errorf("long poll took %s, want it to return soon after the message arrived", waited)
	}
}

func TestRedriveToDLQAndMoveBack(t *testing.T) {
	t.Parallel()
	srv := localsqstest.Start(t)
	client := newClient(t, srv)
	const maxReceives = 2
	qs := createQueues(t, srv, localsqs.QueueSpec{Name: "redrive", MaxReceiveCount: maxReceives, VisibilityTimeout: time.Second})

	attrs := map[string]types.MessageAttributeValue{
		"schema": {DataType: aws.String("String"), StringValue: aws.String("gwtap.v1")},
		"count":  {DataType: aws.String("Number"), StringValue: aws.String("3")},
	}
	_, err := client.SendMessage(t.Context(), &sqs.SendMessageInput{
		QueueUrl: aws.String(qs.Traffic.URL), MessageBody: aws.String("poison"), MessageAttributes: attrs,
	})
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}

	// Receive without deleting, as a failing consumer would, until the
	// message lands in the DLQ.
	receives := 0
	waitFor(t, 20*time.Second, "the message to reach the DLQ", func() bool {
		receives += len(receive(t, client, qs.Traffic.URL, 1))
		return approximateMessages(t, client, qs.DLQ.URL) == 1
	})
	if receives != maxReceives {
		t.Errorf("the message was received %d times before redrive, want %d", receives, maxReceives)
	}

	dead := receiveN(t, client, qs.DLQ.URL, 1)[0]
	if aws.ToString(dead.Body) != "poison" || !sameAttributes(dead.MessageAttributes, attrs) {
		t.Errorf("DLQ message body %q attributes %s, want %q %s", aws.ToString(dead.Body),
			formatAttributes(dead.MessageAttributes), "poison", formatAttributes(attrs))
	}
	if got := dead.Attributes["DeadLetterQueueSourceArn"]; got != qs.Traffic.ARN {
		t.Errorf("DeadLetterQueueSourceArn = %q, want %q", got, qs.Traffic.ARN)
	}
	if _, err := client.ChangeMessageVisibility(t.Context(), &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(qs.DLQ.URL), ReceiptHandle: dead.ReceiptHandle, VisibilityTimeout: 0,
	}); err != nil {
		t.Fatalf("ChangeMessageVisibility on the DLQ: %v", err)
	}

	// Redrive back to the source queue, as a replay would.
	if _, err := client.StartMessageMoveTask(t.Context(), &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(qs.DLQ.ARN)}); err != nil {
		t.Fatalf("StartMessageMoveTask: %v", err)
	}
	waitFor(t, 20*time.Second, "the move task to complete", func() bool {
		tasks, err := client.ListMessageMoveTasks(t.Context(), &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(qs.DLQ.ARN)})
		if err != nil {
			t.Fatalf("ListMessageMoveTasks: %v", err)
		}
		return len(tasks.Results) == 1 && aws.ToString(tasks.Results[0].Status) == "COMPLETED"
	})
	back := receiveN(t, client, qs.Traffic.URL, 1)[0]
	if aws.ToString(back.Body) != "poison" || !sameAttributes(back.MessageAttributes, attrs) {
		t.Errorf("moved-back message body %q attributes %s, want %q %s", aws.ToString(back.Body),
			formatAttributes(back.MessageAttributes), "poison", formatAttributes(attrs))
	}
	if n := approximateMessages(t, client, qs.DLQ.URL); n != 0 {
		t.Errorf("DLQ holds %d messages after the move, want 0", n)
	}
}

func TestPurgeQueue(t *testing.T) {
	t.Parallel()
	srv := localsqstest.Start(t)
	client := newClient(t, srv)
	q := createQueues(t, srv, localsqs.QueueSpec{Name: "purge"}).Traffic
	sendBodies(t, client, q.URL, "a")

	if _, err := client.PurgeQueue(t.Context(), &sqs.PurgeQueueInput{QueueUrl: aws.String(q.URL)}); err != nil {
		t.Fatalf("PurgeQueue: %v", err)
	}
	// As in SQS, one purge per queue per 60 s; the stand-in deletes the
	// messages only when that window ends, so this test cannot wait for it.
	_, err := client.PurgeQueue(t.Context(), &sqs.PurgeQueueInput{QueueUrl: aws.String(q.URL)})
	var inProgress *types.PurgeQueueInProgress
	if !errors.As(err, &inProgress) {
		t.Fatalf("second PurgeQueue: %v, want *types.PurgeQueueInProgress", err)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	srv := localsqstest.Start(t)
	client := newClient(t, srv)
	q := createQueues(t, srv, localsqs.QueueSpec{Name: "small", MaximumMessageSize: 1024}).Traffic

	// The SDK classifies SQS errors into types (its ErrorCode() carries the
	// legacy AWS.SimpleQueueService.* code, as against SQS); the one without a
	// type is matched by code.
	isCode := func(code string) func(error) bool {
		return func(err error) bool {
			var apiErr smithy.APIError
			return errors.As(err, &apiErr) && apiErr.ErrorCode() == code
		}
	}
	tests := []struct {
		name    string
		call    func(context.Context) error
		wantErr func(error) bool // nil: want success
	}{
		{
			name: "message at the size limit",
			call: sendBody(client, q.URL, strings.Repeat("x", 1024)),
		},
		{
			name:    "message over the size limit",
			call:    sendBody(client, q.URL, strings.Repeat("x", 1025)),
			wantErr: isCode("InvalidParameterValue"),
		},
		{
			name: "unknown queue",
			call: func(ctx context.Context) error {
				_, err := client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("missing")})
				return err
			},
			wantErr: func(err error) bool {
				var target *types.QueueDoesNotExist
				return errors.As(err, &target)
			},
		},
		{
			name: "repeated batch entry id",
			call: func(ctx context.Context) error {
				_, err := client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{
					QueueUrl: aws.String(q.URL),
					Entries: []types.SendMessageBatchRequestEntry{
						{Id: aws.String("a"), MessageBody: aws.String("1")},
						{Id: aws.String("a"), MessageBody: aws.String("2")},
					},
				})
				return err
			},
			wantErr: func(err error) bool {
				var target *types.BatchEntryIdsNotDistinct
				return errors.As(err, &target)
			},
		},
		{
			name: "invalid receipt handle",
			call: func(ctx context.Context) error {
				_, err := client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
					QueueUrl: aws.String(q.URL), ReceiptHandle: aws.String("not-a-handle"), VisibilityTimeout: 1,
				})
				return err
			},
			wantErr: func(err error) bool {
				var target *types.ReceiptHandleIsInvalid
				return errors.As(err, &target)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.call(t.Context())
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("got %v, want success", err)
			case tt.wantErr != nil && !tt.wantErr(err):
				t.Fatalf("got %v, want the error this case names", err)
			}
		})
	}
}

func newClient(t *testing.T, srv *localsqs.Server) *sqs.Client {
	t.Helper()
	client, err := srv.Client(t.Context())
	if err != nil {
		t.Fatalf("Client: %v", err)
	}
	return client
}

func createQueues(t *testing.T, srv *localsqs.Server, spec localsqs.QueueSpec) localsqs.Queues {
	t.Helper()
	qs, err := srv.CreateQueues(t.Context(), spec)
	if err != nil {
		t.Fatalf("CreateQueues(%+v): %v", spec, err)
	}
	return qs
}

// checkQueue checks q against what the server says about the queue called name.
func checkQueue(t *testing.T, client *sqs.Client, q localsqs.Queue, name string) {
	t.Helper()
	if q.Name != name {
		t.Errorf("queue name %q, want %q", q.Name, name)
	}
	got, err := client.GetQueueUrl(t.Context(), &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatalf("GetQueueUrl(%s): %v", name, err)
	}
	if aws.ToString(got.QueueUrl) != q.URL {
		t.Errorf("queue %s: URL %q, GetQueueUrl says %q", name, q.URL, aws.ToString(got.QueueUrl))
	}
	if want := fmt.Sprintf("arn:aws:sqs:%s:%s:%s", localsqs.Region, localsqs.AccountID, name); q.ARN != want {
		t.Errorf("queue %s: ARN %q, want %q", name, q.ARN, want)
	}
}

func queueAttributes(t *testing.T, client *sqs.Client, queueURL string, names ...types.QueueAttributeName) map[string]string {
	t.Helper()
	out, err := client.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(queueURL), AttributeNames: names})
	if err != nil {
		t.Fatalf("GetQueueAttributes(%s): %v", queueURL, err)
	}
	return out.Attributes
}

// approximateMessages is the queue's ApproximateNumberOfMessages, which here
// counts in-flight messages too.
func approximateMessages(t *testing.T, client *sqs.Client, queueURL string) int {
	t.Helper()
	raw := queueAttributes(t, client, queueURL, types.QueueAttributeNameApproximateNumberOfMessages)[string(types.QueueAttributeNameApproximateNumberOfMessages)]
	n, err := strconv.Atoi(raw)
	if err != nil {
		t.Fatalf("ApproximateNumberOfMessages of %s = %q: %v", queueURL, raw, err)
	}
	return n
}

func sendBodies(t *testing.T, client *sqs.Client, queueURL string, bodies ...string) {
	t.Helper()
	for _, body := range bodies {
		if err := sendBody(client, queueURL, body)(t.Context()); err != nil {
			t.Fatalf("SendMessage(%s): %v", queueURL, err)
		}
	}
}

func sendBody(client *sqs.Client, queueURL, body string) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(queueURL), MessageBody: aws.String(body)})
		return err
	}
}

// receive makes one ReceiveMessage call asking for every attribute, long
// polling for waitSeconds.
func receive(t *testing.T, client *sqs.Client, queueURL string, waitSeconds int32) []types.Message {
	t.Helper()
	out, err := client.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(queueURL),
		MaxNumberOfMessages:         10,
		WaitTimeSeconds:             waitSeconds,
		MessageAttributeNames:       []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
	})
	if err != nil {
		t.Fatalf("ReceiveMessage(%s): %v", queueURL, err)
	}
	return out.Messages
}

// receiveN receives until it has n messages, failing t after a bounded wait.
func receiveN(t *testing.T, client *sqs.Client, queueURL string, n int) []types.Message {
	t.Helper()
	var got []types.Message
	waitFor(t, 10*time.Second, fmt.Sprintf("%d messages from %s", n, queueURL), func() bool {
		got = append(got, receive(t, client, queueURL, 1)...)
		return len(got) >= n
	})
	if len(got) != n {
		t.Fatalf("received %d messages from %s, want %d", len(got), queueURL, n)
	}
	return got
}

// waitFor polls done until it reports true, failing t after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func sameAttributes(a, b map[string]types.MessageAttributeValue) bool {
	return formatAttributes(a) == formatAttributes(b)
}

// formatAttributes renders message attributes in a stable order for
// comparison and messages.
func formatAttributes(attrs map[string]types.MessageAttributeValue) string {
	var parts []string
	for name, v := range attrs {
		parts = append(parts, fmt.Sprintf("%s=%s:%s", name, aws.ToString(v.DataType), aws.ToString(v.StringValue)))
	}
	slices.Sort(parts)
	return "{" + strings.Join(parts, ", ") + "}"
}

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkStart measures Start (until the endpoint answers) plus Close.
func BenchmarkStart(b *testing.B) {
	localsqstest.Start(b) // skips or fails b when the stand-in is missing
	for b.Loop() {
		srv, err := localsqs.Start(b.Context(), localsqs.Options{})
		if err != nil {
			b.Fatalf("Start: %v", err)
		}
		if err := srv.Close(); err != nil {
			b.Fatalf("Close: %v", err)
		}
	}
}
