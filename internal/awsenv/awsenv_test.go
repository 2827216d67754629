package awsenv

import (
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfig(t *testing.T) {
	cfg, err := Config(env(map[string]string{
		"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "tok",
	}))
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "eu-west-1" || creds.AccessKeyID != "AKID" || creds.SecretAccessKey != "secret" || creds.SessionToken != "tok" {
		t.Errorf("config %+v creds %+v", cfg, creds)
	}
	cfg, err = Config(env(map[string]string{"AWS_DEFAULT_REGION": "us-east-2", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"}))
	if err != nil || cfg.Region != "us-east-2" {
		t.Errorf("AWS_DEFAULT_REGION: %v %q", err, cfg.Region)
	}
}

func TestConfigReportsEverythingMissing(t *testing.T) {
	_, err := Config(env(nil))
	if err == nil {
		t.Fatal("empty environment accepted")
	}
	for _, want := range []string{"AWS_REGION", "AWS_ACCESS_KEY_ID"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
}

func TestEndpoint(t *testing.T) {
	tests := []struct {
		env     map[string]string
		service string
		want    string
	}{
		{map[string]string{}, "SQS", ""},
		{map[string]string{"AWS_ENDPOINT_URL": "http://all"}, "SQS", "http://all"},
		{map[string]string{"AWS_ENDPOINT_URL": "http://all", "AWS_ENDPOINT_URL_SQS": "http://sqs"}, "SQS", "http://sqs"},
		{map[string]string{"AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://sm"}, "Secrets Manager", "http://sm"},
	}
	for _, tt := range tests {
		got := Endpoint(env(tt.env), tt.service)
		if (got == nil) != (tt.want == "") || (got != nil && *got != tt.want) {
			t.Errorf("Endpoint(%v, %q) = %v, want %q", tt.env, tt.service, got, tt.want)
		}
	}
}

func TestMemoryLimit(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want int64
	}{
		{map[string]string{}, 0},
		{map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128"}, 96 << 20},
		{map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024"}, 768 << 20},
		{map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "GOMEMLIMIT": "50MiB"}, 0},
		{map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "lots"}, 0},
	}
	for _, tt := range tests {
		if got := MemoryLimit(env(tt.env)); got != tt.want {
			t.Errorf("MemoryLimit(%v) = %d, want %d", tt.env, got, tt.want)
		}
	}
}
