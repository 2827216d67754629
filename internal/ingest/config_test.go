package ingest

import (
	"errors"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadConfig(t *testing.T) {
	valid := map[string]string{EnvAppID: "-1", EnvQueueURL: "https://sqs.eu-west-1.amazonaws.com/123456789012/gwtap-traffic"}
	c, err := LoadConfig(env(valid))
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxMessageBytes != 256<<10 || c.Namespace != "gwtap" || c.SendAttempts != 4 || c.MaxLineBytes != 1<<20 {
		t.Errorf("defaults: %+v", c)
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range valid {
			m[a] = b
		}
		m[k] = v
		return m
	}
	tests := []struct {
		name string
		env  map[string]string
		want []string // every problem named in the one error
	}{
		{"nothing set", map[string]string{}, []string{EnvAppID, EnvQueueURL}},
		{"app id not a number", with(EnvAppID, "shop"), []string{EnvAppID}},
		{"queue url not a url", with(EnvQueueURL, "gwtap-traffic"), []string{EnvQueueURL}},
		{"message size too big", with(EnvMaxMessageBytes, "2000000"), []string{EnvMaxMessageBytes}},
		{"message size not a number", with(EnvMaxMessageBytes, "256k"), []string{EnvMaxMessageBytes}},
		{"line cap too small", with(EnvMaxLineBytes, "10"), []string{EnvMaxLineBytes}},
		{"attempts zero", with(EnvSendAttempts, "0"), []string{EnvSendAttempts}},
		{"all at once", map[string]string{EnvMaxDecompressed: "-1", EnvSendAttempts: "x"}, []string{EnvAppID, EnvQueueURL, EnvMaxDecompressed, EnvSendAttempts}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadConfig(env(tt.env))
			if err == nil {
				t.Fatal("accepted")
			}
			var joined interface{ Unwrap() []error }
			if !errors.As(err, &joined) || len(joined.Unwrap()) != len(tt.want) {
				t.Errorf("want %d problems, got: %v", len(tt.want), err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not name %s: %v", w, err)
				}
			}
		})
	}
	c, err = LoadConfig(env(with(EnvMaxMessageBytes, "1048576")))
	if err != nil || c.MaxMessageBytes != 1<<20 {
		t.Errorf("1 MiB messages: %v %+v", err, c)
	}
}
