package collector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// SecretsAPI is the part of the Secrets Manager client ResolveToken uses.
type SecretsAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// ParametersAPI is the part of the SSM client ResolveToken uses.
type ParametersAPI interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, opts ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

var (
	_ SecretsAPI    = (*secretsmanager.Client)(nil)
	_ ParametersAPI = (*ssm.Client)(nil)
)

// ErrNoTokenClient means the configuration names a token store but no
// client for it was given.
var ErrNoTokenClient = errors.New("no client for the configured token store")

// ErrBadToken means the stored token is empty or cannot be sent in a header.
var ErrBadToken = errors.New("unusable node token")

// ResolveToken returns the bearer token cfg points at: cfg.Token as it is,
// or the value read once from Secrets Manager (sm) or SSM Parameter Store
// (ps, with decryption); empty when none is configured. Call it at cold
// start: the token is not re-read per invocation, so rotating it takes a new
// container (update the function's configuration to force one).
//
// A secret's SecretString is the token, or a JSON object whose "token" key
// holds it (the console's key/value form). It returns ErrNoTokenClient when
// the needed client is nil, ErrBadToken for an empty or unprintable token,
// or the SDK's error.
func ResolveToken(ctx context.Context, cfg Config, sm SecretsAPI, ps ParametersAPI) (Secret, error) {
	var (
		raw   string
		where string
	)
	switch {
	case cfg.TokenSecretARN != "":
		where = "secret " + cfg.TokenSecretARN
		if sm == nil {
			return "", fmt.Errorf("reading the node token from %s: %w", where, ErrNoTokenClient)
		}
		out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(cfg.TokenSecretARN)})
		if err != nil {
			return "", fmt.Errorf("reading the node token from %s: %w", where, err)
		}
		raw, err = secretToken(aws.ToString(out.SecretString))
		if err != nil {
			return "", fmt.Errorf("reading the node token from %s: %w", where, err)
		}
	case cfg.TokenParameter != "":
		where = "parameter " + cfg.TokenParameter
		if ps == nil {
			return "", fmt.Errorf("reading the node token from %s: %w", where, ErrNoTokenClient)
		}
		out, err := ps.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(cfg.TokenParameter), WithDecryption: aws.Bool(true)})
		if err != nil {
			return "", fmt.Errorf("reading the node token from %s: %w", where, err)
		}
		if out.Parameter != nil {
			raw = aws.ToString(out.Parameter.Value)
		}
	default:
		return cfg.Token, nil
	}
	tok := Secret(strings.TrimSpace(raw))
	if tok == "" {
		return "", fmt.Errorf("reading the node token from %s: %w: it is empty", where, ErrBadToken)
	}
	if err := checkToken(tok); err != nil {
		return "", fmt.Errorf("reading the node token from %s: %w: %v", where, ErrBadToken, err)
	}
	return tok, nil
}

// secretToken takes the token out of a SecretString.
func secretToken(s string) (string, error) {
	if !strings.HasPrefix(strings.TrimSpace(s), "{") {
		return s, nil
	}
	var kv map[string]any
	if err := json.Unmarshal([]byte(s), &kv); err != nil {
		return "", fmt.Errorf("%w: the secret looks like JSON but is not an object", ErrBadToken)
	}
	tok, ok := kv["token"].(string)
	if !ok {
		return "", fmt.Errorf("%w: the secret is a JSON object without a string \"token\" key", ErrBadToken)
	}
	return tok, nil
}
