package samtemplate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDashboard checks that the dashboard body is valid JSON once the
// template's ${…} references are substituted, and that every gwtap metric
// it charts is one the functions actually write.
func TestDashboard(t *testing.T) {
	tpl := loadTemplate(t)
	res, ok := tpl.Resource("Dashboard")
	if !ok || res.Type != "AWS::CloudWatch::Dashboard" {
		t.Fatal("no Dashboard resource")
	}
	sub, ok := res.Properties["DashboardBody"].(map[string]any)["Fn::Sub"].(string)
	if !ok {
		t.Fatalf("DashboardBody is not a !Sub string: %#v", res.Properties["DashboardBody"])
	}
	refs := regexp.MustCompile(`\$\{([A-Za-z0-9:.]+)\}`)
	for _, m := range refs.FindAllStringSubmatch(sub, -1) {
		name := strings.SplitN(m[1], ".", 2)[0]
		if !strings.HasPrefix(name, "AWS::") {
			if _, ok := tpl.Resource(name); !ok {
				t.Errorf("dashboard refers to unknown resource %s", name)
			}
		}
	}
	var body struct {
		Widgets []struct {
			Properties struct {
				Metrics [][]any `json:"metrics"`
			} `json:"properties"`
		} `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(refs.ReplaceAllString(sub, "x")), &body); err != nil {
		t.Fatalf("dashboard body is not JSON: %v", err)
	}
	var code strings.Builder
	for _, pkg := range []string{"ingest", "forward", "replay"} {
		files, _ := filepath.Glob(filepath.Join("..", pkg, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			code.Write(b)
		}
	}
	charted := 0
	for _, w := range body.Widgets {
		for _, m := range w.Properties.Metrics {
			if len(m) < 2 || m[0] != "gwtap" {
				continue
			}
			name, _ := m[1].(string)
			charted++
			if !strings.Contains(code.String(), `"`+name+`"`) {
				t.Errorf("dashboard charts gwtap/%s, which no function writes", name)
			}
		}
	}
	if charted < 10 {
		t.Errorf("only %d gwtap metrics charted", charted)
	}
}
