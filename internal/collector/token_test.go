package collector

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

type fakeSecrets struct {
	SecretsAPI
	value *string
	err   error
	calls []string
}

func (f *fakeSecrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.calls = append(f.calls, aws.ToString(in.SecretId))
	if f.err != nil {
		return nil, f.err
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: f.value}, nil
}

type fakeParams struct {
	ParametersAPI
	value     string
	err       error
	decrypted bool
	calls     []string
}

func (f *fakeParams) GetParameter(_ context.Context, in *ssm.GetParameterInput, _ ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	f.calls = append(f.calls, aws.ToString(in.Name))
	f.decrypted = aws.ToBool(in.WithDecryption)
	if f.err != nil {
		return nil, f.err
	}
	return &ssm.GetParameterOutput{Parameter: &ssmtypes.Parameter{Value: aws.String(f.value)}}, nil
}

func TestResolveToken(t *testing.T) {
	const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:gwtap-node-AbCdEf"
	const param = "/gwtap/node-token"
	sdkErr := errors.New("AccessDeniedException")
	tests := []struct {
		name    string
		cfg     Config
		sm      *fakeSecrets
		ps      *fakeParams
		want    Secret
		wantErr error // nil: success
	}{
		{"no token", Config{}, nil, nil, "", nil},
		{"plain", Config{Token: "tok"}, nil, nil, "tok", nil},
		{"secret string", Config{TokenSecretARN: arn}, &fakeSecrets{value: aws.String(" tok\n")}, nil, "tok", nil},
		{"secret key/value", Config{TokenSecretARN: arn}, &fakeSecrets{value: aws.String(`{"token":"tok","note":"x"}`)}, nil, "tok", nil},
		{"secret JSON without token", Config{TokenSecretARN: arn}, &fakeSecrets{value: aws.String(`{"password":"tok"}`)}, nil, "", ErrBadToken},
		{"secret broken JSON", Config{TokenSecretARN: arn}, &fakeSecrets{value: aws.String(`{"token":`)}, nil, "", ErrBadToken},
		{"secret empty", Config{TokenSecretARN: arn}, &fakeSecrets{value: aws.String("  ")}, nil, "", ErrBadToken},
		{"secret binary only", Config{TokenSecretARN: arn}, &fakeSecrets{}, nil, "", ErrBadToken},
		{"secret unprintable", Config{TokenSecretARN: arn}, &fakeSecrets{value: aws.String("a b")}, nil, "", ErrBadToken},
		{"secret SDK error", Config{TokenSecretARN: arn}, &fakeSecrets{err: sdkErr}, nil, "", sdkErr},
		{"secret without client", Config{TokenSecretARN: arn}, nil, nil, "", ErrNoTokenClient},
		{"parameter", Config{TokenParameter: param}, nil, &fakeParams{value: "tok"}, "tok", nil},
		{"parameter empty", Config{TokenParameter: param}, nil, &fakeParams{}, "", ErrBadToken},
		{"parameter SDK error", Config{TokenParameter: param}, nil, &fakeParams{err: sdkErr}, "", sdkErr},
		{"parameter without client", Config{TokenParameter: param}, nil, nil, "", ErrNoTokenClient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				sm SecretsAPI
				ps ParametersAPI
			)
			if tt.sm != nil {
				sm = tt.sm
			}
			if tt.ps != nil {
				ps = tt.ps
			}
			got, err := ResolveToken(t.Context(), tt.cfg, sm, ps)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", string(got), err, string(tt.want))
			}
			if tt.sm != nil && (len(tt.sm.calls) != 1 || tt.sm.calls[0] != arn) {
				t.Errorf("secret calls %v", tt.sm.calls)
			}
			if tt.ps != nil && (len(tt.ps.calls) != 1 || tt.ps.calls[0] != param || !tt.ps.decrypted) {
				t.Errorf("parameter calls %v, decrypted %v: a SecureString must be read decrypted", tt.ps.calls, tt.ps.decrypted)
			}
		})
	}
}
