package node

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gwtap/gwtap/internal/protocol"
)

// chromiumPath is where Debian's chromium package (.ci/install-chromium.sh)
// puts the browser.
const chromiumPath = "/usr/bin/chromium"

// screenshotDirEnv names a directory to keep the browser test's
// screenshots in; by default they go to the test's temporary directory.
const screenshotDirEnv = "GWTAP_SCREENSHOT_DIR"

// browser starts headless chromium for t, or skips t when chromium is
// missing outside CI (in CI, where .ci/install-chromium.sh installs it,
// a missing chromium fails the test).
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := exec.LookPath(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing; CI must install it (.ci/install-chromium.sh)", chromiumPath)
		}
		t.Skipf("%s is missing: run .ci/install-chromium.sh (as root) to run the browser test", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 1000),
	}
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	t.Cleanup(cancel)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return bctx
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv(screenshotDirEnv)
	if dir == "" {
		dir = t.TempDir()
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", path)
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// noXSS checks that none of the hostile strings ran, each of which would
// have set window.__xss, and that none became an element.
func noXSS(t *testing.T, ctx context.Context, where string) {
	t.Helper()
	if kind := eval[string](t, ctx, `typeof window.__xss`); kind != "undefined" {
		t.Errorf("%s: script from traffic ran (window.__xss is %s)", where, kind)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('main img, main svg, main b, main script').length`); n != 0 {
		t.Errorf("%s: %d elements injected from traffic", where, n)
	}
}

func TestPageInBrowser(t *testing.T) {
	ctx := browser(t)
	n := newTestNode(t, Config{Version: "browser-test"})
	srv := httptest.NewServer(n.h)
	t.Cleanup(srv.Close)
	mustOK(t, post(t, n.h, ndjson(append(synthRecords(3000, 21), xssRecords(4)...)), protocol.HeaderApplicationID, "shop"))
	records := 3000 + 12

	// The inventory table, with hostile strings shown as text.
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`#inventory`))); err != nil {
		t.Fatalf("loading the page: %v", err)
	}
	rows := eval[int](t, ctx, `document.querySelectorAll('#inventory tbody tr').length`)
	if rows < 20 {
		t.Errorf("%d rows in the inventory table", rows)
	}
	total := eval[string](t, ctx, `document.getElementById('records-total').textContent`)
	if total != fmt.Sprintf("%d,%03d", records/1000, records%1000) {
		t.Errorf("record total %q, want %d", total, records)
	}
	hostile := eval[string](t, ctx, `Array.from(document.querySelectorAll('#inventory td.template')).map(td => td.textContent).find(s => s.includes('<script>')) || ''`)
	if hostile != xssPath {
		t.Errorf("the hostile path is shown as %q, want the text %q", hostile, xssPath)
	}
	hosts := eval[[]string](t, ctx, `Array.from(document.querySelectorAll('#inventory td.host')).map(td => td.textContent)`)
	if !slices.Contains(hosts, xssHost) {
		t.Errorf("the hostile host is not shown as text among %q", hosts)
	}
	noXSS(t, ctx, "inventory")
	screenshot(t, ctx, "inventory.png")

	// Typing in the search box filters the rows at once.
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`#search`), "carts")); err != nil {
		t.Fatal(err)
	}
	visible := eval[int](t, ctx, `Array.from(document.querySelectorAll('#inventory tbody tr')).filter(r => !r.hidden).length`)
	shown := eval[string](t, ctx, `document.getElementById('shown').textContent`)
	if visible == 0 || visible >= rows || shown != fmt.Sprint(visible) {
		t.Errorf("search for carts left %d of %d rows (counter says %s)", visible, rows, shown)
	}
	for _, text := range eval[[]string](t, ctx, `Array.from(document.querySelectorAll('#inventory tbody tr')).filter(r => !r.hidden).map(r => r.textContent)`) {
		if !strings.Contains(text, "carts") {
			t.Errorf("row %q shown for search carts", strings.Join(strings.Fields(text), " "))
		}
	}
	screenshot(t, ctx, "search.png")

	// Choosing a method reloads the page with the filter.
	err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/?sort=template"),
		chromedp.WaitVisible(chromedp.CSS(`select[name=method]`)),
		chromedp.SetValue(chromedp.CSS(`select[name=method]`), "DELETE"),
	)
	if err != nil {
		t.Fatalf("choosing a method: %v", err)
	}
	// SetValue fires the change event, and the page submits the filter.
	if err := chromedp.Do(ctx, chromedp.WaitReady(chromedp.CSS(`select[name=method] option[value=DELETE][selected]`))); err != nil {
		t.Fatalf("filtering by method: %v", err)
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.Contains(loc, "method=DELETE") {
		t.Errorf("the filter did not reach the URL: %s", loc)
	}
	methods := eval[[]string](t, ctx, `Array.from(document.querySelectorAll('#inventory tbody tr td:first-child')).map(td => td.textContent.trim())`)
	if len(methods) == 0 {
		t.Error("no DELETE endpoint after filtering")
	}
	for _, m := range methods {
		if m != "DELETE" {
			t.Errorf("row with method %s after filtering on DELETE", m)
		}
	}

	// The live total follows records that arrive after the page loaded.
	mustOK(t, post(t, n.h, ndjson(synthRecords(1000, 22)), protocol.HeaderApplicationID, "shop"))
	want := fmt.Sprintf("%d,%03d", (records+1000)/1000, (records+1000)%1000)
	poll := fmt.Sprintf(`document.getElementById('records-total').textContent === %q`, want)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](poll, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Errorf("the live total did not reach %s: %v", want, err)
	}

	// The detail of the hostile endpoint: path, user agent and error as text.
	err = chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/?q=script"),
		chromedp.WaitVisible(chromedp.CSS(`#inventory td.template a`)),
		chromedp.Click(chromedp.CSS(`#inventory td.template a`)),
		chromedp.WaitVisible(chromedp.CSS(`#recent`)),
	)
	if err != nil {
		t.Fatalf("opening the detail: %v", err)
	}
	if title := eval[string](t, ctx, `document.querySelector('#endpoint-title .template').textContent`); title != xssPath {
		t.Errorf("detail title %q, want %q", title, xssPath)
	}
	if agent := eval[string](t, ctx, `document.querySelector('#recent td.ua').textContent`); agent != xssAgent {
		t.Errorf("user agent shown as %q, want the raw string %q", agent, xssAgent)
	}
	if path := eval[string](t, ctx, `document.querySelector('#recent td.path').textContent`); path != xssPath {
		t.Errorf("path shown as %q, want %q", path, xssPath)
	}
	if cells := eval[string](t, ctx, `Array.from(document.querySelectorAll('#recent td')).map(td => td.textContent).join('\n')`); !strings.Contains(cells, xssError) {
		t.Errorf("error message not shown as text: %q", cells)
	}
	if host := eval[string](t, ctx, `document.getElementById('endpoint-host').textContent`); host != xssHost {
		t.Errorf("host shown as %q, want %q", host, xssHost)
	}
	noXSS(t, ctx, "detail")
	screenshot(t, ctx, "detail.png")

	// The host's OpenAPI link leads to the export.
	href := eval[string](t, ctx, `document.querySelector('dl.facts a[href^="/v1/openapi.json"]').getAttribute('href')`)
	if w := get(t, n.h, href); w.Code != 200 || !strings.Contains(w.Body.String(), `"openapi":"3.1.0"`) {
		t.Errorf("OpenAPI link %s: %d %s", href, w.Code, w.Body.String())
	}
}
