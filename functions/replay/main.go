// Command replay is the dead-letter queue runbook Lambda: the steps of
// ReplayStateMachine (probe, status, re-drive pages, re-ingest) as direct
// invocations, and an admin API on its Function URL. All logic lives in
// internal/replay; this file only wires it up.
package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/gwtap/gwtap/internal/awsenv"
	"github.com/gwtap/gwtap/internal/collector"
	"github.com/gwtap/gwtap/internal/ingest"
	"github.com/gwtap/gwtap/internal/replay"
)

func main() {
	log := lambdacontext.NewLogger()
	// Re-ingest inflates a whole subscription payload, as ingest does.
	awsenv.LimitMemory(os.Getenv)
	h, hc, err := setup(context.Background(), log)
	if err != nil {
		// Exiting during init makes Lambda report an init error with this message.
		log.Error("replay cannot start", "error", err)
		os.Exit(1)
	}
	lambda.StartWithOptions(h.Invoke, lambda.WithEnableSIGTERM(hc.CloseIdleConnections))
}

// setup reads the configuration and builds the clients, once per container.
func setup(_ context.Context, log *slog.Logger) (*replay.LambdaHandler, *http.Client, error) {
	cfg, err := replay.LoadConfig(os.Getenv)
	if err != nil {
		return nil, nil, err
	}
	awsCfg, err := awsenv.Config(os.Getenv)
	if err != nil {
		return nil, nil, err
	}
	q := sqs.NewFromConfig(awsCfg, func(o *sqs.Options) { o.BaseEndpoint = awsenv.Endpoint(os.Getenv, "SQS") })
	hc, err := collector.NewHTTPClient(cfg.Node)
	if err != nil {
		return nil, nil, err
	}
	// The probe needs no token (collector protocol §9), so the function
	// has no access to the token store.
	node, err := collector.New(cfg.Node, "", hc, log)
	if err != nil {
		return nil, nil, err
	}
	deps := replay.Deps{SQS: q, Node: node, Log: log, Metrics: os.Stdout}
	if cfg.Queues.IngestFailure != "" {
		ih, err := ingest.NewHandler(cfg.Ingest, q, log, os.Stdout)
		if err != nil {
			return nil, nil, err
		}
		deps.Ingester = ih
	}
	s, err := replay.New(cfg, deps)
	if err != nil {
		return nil, nil, err
	}
	return replay.NewLambdaHandler(s), hc, nil
}
