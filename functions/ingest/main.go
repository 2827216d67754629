// Command ingest is the CloudWatch Logs subscription Lambda: it parses API
// Gateway access logs into records and enqueues them, packed, on the traffic
// queue. All logic lives in internal/ingest; this file only wires it up.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/gwtap/gwtap/internal/awsenv"
	"github.com/gwtap/gwtap/internal/ingest"
)

func main() {
	log := lambdacontext.NewLogger()
	awsenv.LimitMemory(os.Getenv)
	h, err := setup(context.Background(), log)
	if err != nil {
		// Exiting during init makes Lambda report an init error with this message.
		log.Error("ingest cannot start", "error", err)
		os.Exit(1)
	}
	lambda.Start(func(ctx context.Context, ev events.CloudwatchLogsEvent) error {
		_, err := h.Handle(ctx, ev)
		return err
	})
}

// setup reads the configuration and builds the clients once per container.
func setup(_ context.Context, log *slog.Logger) (*ingest.Handler, error) {
	cfg, err := ingest.LoadConfig(os.Getenv)
	if err != nil {
		return nil, err
	}
	awsCfg, err := awsenv.Config(os.Getenv)
	if err != nil {
		return nil, err
	}
	q := sqs.NewFromConfig(awsCfg, func(o *sqs.Options) { o.BaseEndpoint = awsenv.Endpoint(os.Getenv, "SQS") })
	return ingest.NewHandler(cfg, q, log, os.Stdout)
}
