// Command forward is the TrafficQueue consumer Lambda: it posts each
// message's records to the node and reports the messages SQS must deliver
// again; permanent failures go to the dead-letter queue with their reason.
// All logic lives in internal/forward and internal/collector; this file only
// wires it up.
package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/gwtap/gwtap/internal/awsenv"
	"github.com/gwtap/gwtap/internal/collector"
	"github.com/gwtap/gwtap/internal/forward"
)

func main() {
	log := lambdacontext.NewLogger()
	awsenv.LimitMemory(os.Getenv)
	h, hc, err := setup(context.Background(), log)
	if err != nil {
		// Exiting during init makes Lambda report an init error with this message.
		log.Error("forward cannot start", "error", err)
		os.Exit(1)
	}
	lambda.StartWithOptions(h.Handle, lambda.WithEnableSIGTERM(hc.CloseIdleConnections))
}

// setup reads the configuration, fetches the node token and builds the
// clients, once per container.
func setup(ctx context.Context, log *slog.Logger) (*forward.Handler, *http.Client, error) {
	cfg, err := forward.LoadConfig(os.Getenv)
	if err != nil {
		return nil, nil, err
	}
	awsCfg, err := awsenv.Config(os.Getenv)
	if err != nil {
		return nil, nil, err
	}
	var (
		secrets collector.SecretsAPI
		params  collector.ParametersAPI
	)
	if cfg.Node.TokenSecretARN != "" {
		secrets = secretsmanager.NewFromConfig(awsCfg, inRegionOf(cfg.Node.TokenSecretARN, func(o *secretsmanager.Options, r string) { o.Region = r }),
			func(o *secretsmanager.Options) { o.BaseEndpoint = awsenv.Endpoint(os.Getenv, "Secrets Manager") })
	}
	if cfg.Node.TokenParameter != "" {
		params = ssm.NewFromConfig(awsCfg, inRegionOf(cfg.Node.TokenParameter, func(o *ssm.Options, r string) { o.Region = r }),
			func(o *ssm.Options) { o.BaseEndpoint = awsenv.Endpoint(os.Getenv, "SSM") })
	}
	token, err := collector.ResolveToken(ctx, cfg.Node, secrets, params)
	if err != nil {
		return nil, nil, err
	}
	hc, err := collector.NewHTTPClient(cfg.Node)
	if err != nil {
		return nil, nil, err
	}
	node, err := collector.New(cfg.Node, token, hc, log)
	if err != nil {
		return nil, nil, err
	}
	h, err := forward.NewHandler(cfg, node, sqs.NewFromConfig(awsCfg, func(o *sqs.Options) { o.BaseEndpoint = awsenv.Endpoint(os.Getenv, "SQS") }), log, os.Stdout)
	return h, hc, err
}

// inRegionOf points a client at the region an ARN names, so a token kept in
// another region is still found; a plain name keeps the function's region.
func inRegionOf[O any](name string, set func(*O, string)) func(*O) {
	return func(o *O) {
		if a, err := arn.Parse(name); err == nil && a.Region != "" {
			set(o, a.Region)
		}
	}
}
