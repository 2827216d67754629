package forward

import (
	"errors"
	"strings"
	"testing"

	"github.com/gwtap/gwtap/internal/collector"
)

func TestLoadConfig(t *testing.T) {
	valid := map[string]string{
		collector.EnvNodeURL: "node.example.com", collector.EnvAppID: "-1", EnvDLQURL: testDLQURL,
	}
	c, err := LoadConfig(env(valid))
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxMessageBytes != 256<<10 || c.Concurrency != DefaultConcurrency || c.Namespace != "gwtap" ||
		c.Node.BaseURL() != "https://node.example.com" || c.DLQURL != testDLQURL {
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
		want []string
	}{
		{"nothing set", map[string]string{}, []string{collector.EnvNodeURL, collector.EnvAppID, EnvDLQURL}},
		{"dlq not a url", with(EnvDLQURL, "gwtap-dlq"), []string{EnvDLQURL}},
		{"message size too small", with(EnvMaxMessageBytes, "2048"), []string{EnvMaxMessageBytes}},
		{"message size too large", with(EnvMaxMessageBytes, "2000000"), []string{EnvMaxMessageBytes}},
		{"concurrency zero", with(EnvConcurrency, "0"), []string{EnvConcurrency}},
		{"node and function problems together", map[string]string{
			collector.EnvNodeURL: "https://x", collector.EnvAppID: "a", collector.EnvTimeout: "soon", EnvConcurrency: "x",
		}, []string{collector.EnvNodeURL, collector.EnvAppID, collector.EnvTimeout, EnvDLQURL, EnvConcurrency}},
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
}
