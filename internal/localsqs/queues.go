package localsqs

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Client returns an SQS client for the server: region Region, static dummy
// credentials, BaseEndpoint set to Endpoint. It is built from explicit options
// rather than the default configuration chain, so AWS_PROFILE, ~/.aws files
// and AWS_* variables on a developer's machine cannot change what tests talk
// to. It returns an error when ctx is done or the server has stopped.
func (s *Server) Client(ctx context.Context) (*sqs.Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("creating an SQS client for local-aws-sqs: %w", err)
	}
	select {
	case <-s.exited:
		return nil, fmt.Errorf("creating an SQS client for local-aws-sqs at %s: %w", s.endpoint, ErrStopped)
	default:
	}
	return sqs.New(sqs.Options{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("localsqs", "localsqs", ""),
		BaseEndpoint: aws.String(s.endpoint),
	}), nil
}

// ErrStopped is wrapped by the error Client returns once the server has
// stopped, after Close, the end of Start's context, or a crash.
var ErrStopped = errors.New("local-aws-sqs server has stopped")

// ErrInvalidQueueSpec is wrapped by every error CreateQueues returns for a
// QueueSpec it rejects before calling the server.
var ErrInvalidQueueSpec = errors.New("invalid queue spec")

const (
	// DefaultMaxReceiveCount is QueueSpec.MaxReceiveCount when zero.
	DefaultMaxReceiveCount = 3
	// DefaultVisibilityTimeout is QueueSpec.VisibilityTimeout when zero; it
	// is SQS's own default.
	DefaultVisibilityTimeout = 30 * time.Second
	// DLQSuffix makes QueueSpec.DLQName from Name when it is empty.
	DLQSuffix = "-dlq"
)

// queueName is what SQS accepts for a standard queue's name.
var queueName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

// QueueSpec describes the queues CreateQueues makes: a traffic queue whose
// redrive policy sends a message to a dead-letter queue after MaxReceiveCount
// receives, and optionally a plain extra queue. VisibilityTimeout and
// MaximumMessageSize apply to all of them. Only standard (not FIFO) queues are
// supported.
type QueueSpec struct {
	// Name is the traffic queue's name; required.
	Name string
	// DLQName is the dead-letter queue's name; empty means Name+DLQSuffix.
	DLQName string
	// ExtraName, when set, names one more queue, without a redrive policy.
	ExtraName string
	// MaxReceiveCount is how many receives a message gets before it moves to
	// the dead-letter queue, 1 to 1000; zero means DefaultMaxReceiveCount.
	MaxReceiveCount int
	// VisibilityTimeout, in whole seconds up to 12 hours; zero means
	// DefaultVisibilityTimeout.
	VisibilityTimeout time.Duration
	// MaximumMessageSize in bytes, 1024 to 1048576; zero keeps the queue
	// default (1 MiB, as SQS).
	MaximumMessageSize int
}

// Queue identifies one queue on the server.
type Queue struct {
	Name string
	URL  string
	ARN  string
}

// Queues are the queues CreateQueues made. Extra is the zero Queue when
// QueueSpec.ExtraName was empty.
type Queues struct {
	Traffic Queue
	DLQ     Queue
	Extra   Queue
}

// CreateQueues creates the queues spec describes, the dead-letter queue first
// since the redrive policy names it, and returns their names, URLs and ARNs.
// Creating them again with the same spec returns the same queues, as SQS does.
// It returns an error wrapping ErrInvalidQueueSpec, listing every problem,
// when spec is invalid, and the SDK's error when a call fails (for example
// *types.QueueNameExists when a queue exists with other attributes).
func (s *Server) CreateQueues(ctx context.Context, spec QueueSpec) (Queues, error) {
	spec = spec.withDefaults()
	if err := spec.validate(); err != nil {
		return Queues{}, err
	}
	client, err := s.Client(ctx)
	if err != nil {
		return Queues{}, err
	}

	common := map[string]string{
		string(types.QueueAttributeNameVisibilityTimeout): strconv.Itoa(int(spec.VisibilityTimeout / time.Second)),
	}
	if spec.MaximumMessageSize != 0 {
		common[string(types.QueueAttributeNameMaximumMessageSize)] = strconv.Itoa(spec.MaximumMessageSize)
	}

	var qs Queues
	if qs.DLQ, err = createQueue(ctx, client, spec.DLQName, common); err != nil {
		return Queues{}, err
	}
	policy, err := json.Marshal(struct {
		DeadLetterTargetARN string `json:"deadLetterTargetArn"`
		MaxReceiveCount     int    `json:"maxReceiveCount"`
	}{qs.DLQ.ARN, spec.MaxReceiveCount})
	if err != nil {
		return Queues{}, fmt.Errorf("encoding the redrive policy of queue %s: %w", spec.Name, err)
	}
	traffic := map[string]string{string(types.QueueAttributeNameRedrivePolicy): string(policy)}
	maps.Copy(traffic, common)
	if qs.Traffic, err = createQueue(ctx, client, spec.Name, traffic); err != nil {
		return Queues{}, err
	}
	if spec.ExtraName != "" {
		if qs.Extra, err = createQueue(ctx, client, spec.ExtraName, common); err != nil {
			return Queues{}, err
		}
	}
	return qs, nil
}

func createQueue(ctx context.Context, client *sqs.Client, name string, attrs map[string]string) (Queue, error) {
	created, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		return Queue{}, fmt.Errorf("creating queue %s: %w", name, err)
	}
	got, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       created.QueueUrl,
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return Queue{}, fmt.Errorf("getting the ARN of queue %s: %w", name, err)
	}
	arn := got.Attributes[string(types.QueueAttributeNameQueueArn)]
	if arn == "" {
		return Queue{}, fmt.Errorf("getting the ARN of queue %s: the server returned none", name)
	}
	return Queue{Name: name, URL: aws.ToString(created.QueueUrl), ARN: arn}, nil
}

func (spec QueueSpec) withDefaults() QueueSpec {
	if spec.DLQName == "" && spec.Name != "" {
		spec.DLQName = spec.Name + DLQSuffix
	}
	spec.MaxReceiveCount = cmp.Or(spec.MaxReceiveCount, DefaultMaxReceiveCount)
	spec.VisibilityTimeout = cmp.Or(spec.VisibilityTimeout, DefaultVisibilityTimeout)
	return spec
}

// validate returns every problem with spec at once, each wrapping
// ErrInvalidQueueSpec. It expects spec.withDefaults().
func (spec QueueSpec) validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s", ErrInvalidQueueSpec, fmt.Sprintf(format, args...)))
	}
	names := []struct{ field, value string }{
		{"Name", spec.Name}, {"DLQName", spec.DLQName}, {"ExtraName", spec.ExtraName},
	}
	seen := map[string]string{}
	for _, n := range names {
		switch {
		case n.value == "" && n.field != "Name":
			// ExtraName is optional, and DLQName is empty only when Name is.
			continue
		case n.value == "":
			bad("%s is required", n.field)
			continue
		case !queueName.MatchString(n.value):
			bad("%s %q is not a standard queue name (1 to 80 of A-Z, a-z, 0-9, - and _)", n.field, n.value)
		}
		if other, dup := seen[n.value]; dup {
			bad("%s and %s are both %q", other, n.field, n.value)
		}
		seen[n.value] = n.field
	}
	if spec.MaxReceiveCount < 1 || spec.MaxReceiveCount > 1000 {
		bad("MaxReceiveCount %d is outside [1, 1000]", spec.MaxReceiveCount)
	}
	if spec.VisibilityTimeout < 0 || spec.VisibilityTimeout > 12*time.Hour || spec.VisibilityTimeout%time.Second != 0 {
		bad("VisibilityTimeout %s is not a whole number of seconds in [0s, 12h]", spec.VisibilityTimeout)
	}
	if spec.MaximumMessageSize != 0 && (spec.MaximumMessageSize < 1024 || spec.MaximumMessageSize > 1<<20) {
		bad("MaximumMessageSize %d is outside [1024, 1048576]", spec.MaximumMessageSize)
	}
	return errors.Join(errs...)
}
