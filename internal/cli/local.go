package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gwtap/gwtap/internal/envelope"
	"github.com/gwtap/gwtap/internal/ingest"
	"github.com/gwtap/gwtap/internal/localsqs"
	"github.com/gwtap/gwtap/internal/record"
)

// Queue settings mirrored from template.yaml's defaults.
const (
	localMaxReceiveCount   = 5
	localVisibilityTimeout = 180 * time.Second
)

// runLocal starts a local SQS with the template's queues, runs the real
// ingest handler on the inputs, and reads back what reached the traffic queue.
func runLocal(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("local", "local [flags] [INPUT ...]\n\nStarts a local SQS (npm local-aws-sqs) with the queues template.yaml creates, runs the ingest\nfunction's handler on every INPUT (subscription events *.json or raw access logs; default\nevents/cloudwatch-*.json), then reads the traffic queue back and prints what it holds.", stderr)
	once := fs.Bool("once", false, "exit after the summary instead of serving the local SQS until Ctrl-C")
	appID := fs.String("app", envOr(ingest.EnvAppID, "-1"), "application id stamped on records")
	verbose := fs.Bool("v", false, "log every invocation as JSON on stderr")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	inputs := fs.Args()
	if len(inputs) == 0 {
		matches, err := filepath.Glob(filepath.Join("events", "cloudwatch-*.json"))
		if err != nil || len(matches) == 0 {
			return fmt.Errorf("%w: no INPUT given and no events/cloudwatch-*.json here (run from the repository root)", ErrUsage)
		}
		inputs = matches
	}

	fmt.Fprintln(stdout, "starting local SQS (local-aws-sqs)…")
	srv, err := localsqs.Start(ctx, localsqs.Options{})
	if err != nil {
		return fmt.Errorf("starting the local SQS: %w", err)
	}
	defer srv.Close()
	qs, err := srv.CreateQueues(ctx, localsqs.QueueSpec{
		Name: "gwtap-traffic", DLQName: "gwtap-dead-letter", ExtraName: "gwtap-ingest-failures",
		MaxReceiveCount: localMaxReceiveCount, VisibilityTimeout: localVisibilityTimeout,
		MaximumMessageSize: envelope.DefaultMaxMessageBytes,
	})
	if err != nil {
		return fmt.Errorf("creating queues: %w", err)
	}
	client, err := srv.Client(ctx)
	if err != nil {
		return err
	}
	cfg, err := ingest.LoadConfig(overlay(map[string]string{ingest.EnvQueueURL: qs.Traffic.URL, ingest.EnvAppID: *appID}))
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	h, err := ingest.NewHandler(cfg, client, logger(stderr, *verbose), io.Discard)
	if err != nil {
		return err
	}
	sum, ingestErr := ingestInputs(ctx, h, inputs)
	sum.print(stdout)

	q, err := drain(ctx, client, qs.Traffic.URL)
	if err != nil {
		return err
	}
	q.print(stdout)
	if ingestErr != nil {
		return ingestErr
	}
	if q.records != sum.st.Enqueued {
		return fmt.Errorf("the traffic queue holds %d records, ingest reported %d enqueued", q.records, sum.st.Enqueued)
	}
	if *once {
		return nil
	}
	fmt.Fprintf(stdout, "\nlocal SQS serving at %s (traffic queue %s); Ctrl-C to stop\n", srv.Endpoint(), qs.Traffic.URL)
	<-ctx.Done()
	return nil
}

// queueContents summarises what drain read.
type queueContents struct {
	messages, records, bodyBytes int
	endpoints                    map[string]int
	sample                       *record.Record
}

// drain receives every message on the traffic queue, opens the envelopes and
// deletes them, as the forward function's event source mapping will.
func drain(ctx context.Context, client *sqs.Client, url string) (queueContents, error) {
	qc := queueContents{endpoints: map[string]int{}}
	opener, err := envelope.NewOpener(0)
	if err != nil {
		return qc, err
	}
	for empty := 0; empty < 2; {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"},
		})
		if err != nil {
			return qc, fmt.Errorf("receiving from the traffic queue: %w", err)
		}
		if len(out.Messages) == 0 {
			empty++
			continue
		}
		var del []types.DeleteMessageBatchRequestEntry
		for i, m := range out.Messages {
			raw, err := opener.Open(aws.ToString(m.Body))
			if err != nil {
				return qc, fmt.Errorf("message %s: %w", aws.ToString(m.MessageId), err)
			}
			lines := envelope.Lines(raw)
			if n, _ := strconv.Atoi(aws.ToString(m.MessageAttributes[envelope.AttrRecords].StringValue)); n != len(lines) {
				return qc, fmt.Errorf("message %s: attribute says %d records, body has %d", aws.ToString(m.MessageId), n, len(lines))
			}
			for _, l := range lines {
				var r record.Record
				if err := jsonUnmarshal(l, &r); err != nil {
					return qc, fmt.Errorf("message %s: %w", aws.ToString(m.MessageId), err)
				}
				key := r.Method + " " + r.Host + " " + r.Path
				if r.Template != "" {
					key = r.Method + " " + r.Host + " " + r.Template
				}
				qc.endpoints[key]++
				if qc.sample == nil {
					qc.sample = &r
				}
			}
			qc.messages++
			qc.records += len(lines)
			qc.bodyBytes += len(aws.ToString(m.Body))
			del = append(del, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
		}
		if _, err := client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: del}); err != nil {
			return qc, fmt.Errorf("deleting from the traffic queue: %w", err)
		}
	}
	return qc, nil
}

func (q queueContents) print(w io.Writer) {
	fmt.Fprintf(w, "traffic queue: %s carrying %d records (%d body bytes, %.0f billed SQS requests per million records)\n",
		plural(q.messages, "message"), q.records, q.bodyBytes, billedPerMillion(q.messages, q.bodyBytes, q.records))
	type kv struct {
		k string
		n int
	}
	var top []kv
	for k, n := range q.endpoints {
		top = append(top, kv{k, n})
	}
	sort.Slice(top, func(i, j int) bool { return top[i].n > top[j].n || (top[i].n == top[j].n && top[i].k < top[j].k) })
	if len(top) > 0 {
		fmt.Fprintln(w, "most requested paths in the queue:")
	}
	for _, e := range top[:min(len(top), 8)] {
		fmt.Fprintf(w, "  %6d  %s\n", e.n, e.k)
	}
	if q.sample != nil {
		fmt.Fprintf(w, "a record as the node will receive it:\n  %s\n", q.sample.AppendJSON(nil))
	}
	if os.Getenv("CI") == "" && len(top) > 0 {
		fmt.Fprintln(w, "(the node and its inventory page join this pipeline as they land; see README)")
	}
}

// billedPerMillion estimates SQS billed requests per million records for
// this traffic: each send, receive and delete is billed per started 64 KiB,
// with sends and receives batched by ten messages, as ingest and the event
// source mapping do.
func billedPerMillion(messages, bodyBytes, records int) float64 {
	if records == 0 || messages == 0 {
		return 0
	}
	const chunk = 64 << 10
	avg := float64(bodyBytes) / float64(messages)
	chunksPerMsg := float64(int(avg+chunk-1) / chunk)
	batches := float64((messages + 9) / 10)
	send := max(chunksPerMsg*float64(messages), batches)
	receive := send
	del := batches
	return (send + receive + del) / float64(records) * 1e6
}
