package uitest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/drover/drover/internal/testimage"
)

// chromiumPath finds the browser: $DROVER_CHROMIUM, else chromium on PATH.
// Without one the test skips, except in CI (CI=true), where it fails.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("DROVER_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is required in CI: .ci/run installs it (apt-get install -y chromium)")
	}
	t.Skip("skipping the browser test: no chromium on PATH (apt-get install -y chromium, or set DROVER_CHROMIUM); CI=true makes this a failure")
	return ""
}

// browser is one headless Chromium tab, closed when the test ends. It
// records the page's uncaught exceptions and console errors; the test
// fails on any at its end.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu     sync.Mutex
	errors []string
}

// viewport is a laptop screen.
const viewportW, viewportH = 1440, 900

// newBrowser starts Chromium, in the cluster's network namespace if it has one.
func newBrowser(t *testing.T, c *cluster) *browser {
	t.Helper()
	path := chromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.ModifyCmdFunc(func(cmd *exec.Cmd) { inNamespace(cmd, c.nsenter, c.nsPath) }),
		chromedp.WindowSize(viewportW, viewportH),
		chromedp.NoSandbox, // root in CI
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("lang", "en-GB"),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	b := &browser{t: t}
	quiet := func(string, ...any) {}
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithErrorf(quiet), chromedp.WithLogf(quiet),
		chromedp.WithListener(b.listen))
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, e := range b.errors {
			t.Errorf("browser: %s", e)
		}
	})
	// The first Run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank"), chromedp.EmulateViewport(viewportW, viewportH)); err != nil {
		t.Fatalf("start chromium (%s): %v", path, err)
	}
	b.ctx = ctx
	return b
}

func (b *browser) listen(ev any) {
	var msg string
	switch e := ev.(type) {
	case *runtime.EventExceptionThrown:
		msg = "uncaught exception: " + e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			msg += " " + e.ExceptionDetails.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if e.Type != runtime.ConsoleAPICalledTypeError {
			return
		}
		var parts []string
		for _, a := range e.Args {
			if a.Value != nil {
				parts = append(parts, string(a.Value))
			} else {
				parts = append(parts, a.Description)
			}
		}
		msg = "console.error: " + strings.Join(parts, " ")
	default:
		return
	}
	b.mu.Lock()
	b.errors = append(b.errors, msg)
	b.mu.Unlock()
}

// do runs actions, failing the test if they do not finish within 20 s.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v\npage: %s", what, err, b.pageText())
	}
}

// eval evaluates a JavaScript expression and decodes its value into v.
func (b *browser) eval(expr string, v any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	if v != nil {
		if err := json.Unmarshal(raw, v); err != nil {
			b.t.Fatalf("evaluate %s: decode %s: %v", expr, raw, err)
		}
	}
}

// waitJS waits until a JavaScript expression is truthy.
func (b *browser) waitJS(what string, timeout time.Duration, expr string) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, time.Until(deadline)+5*time.Second)
		_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(max(time.Until(deadline), time.Millisecond))))
		cancel()
		if err == nil {
			return
		}
		// A page that was still settling in when the poll began.
		if contextGone(err) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		b.t.Fatalf("waiting for %s (%s): %v\npage: %s", what, expr, err, b.pageText())
	}
}

// contextGone reports whether an evaluation failed because the page's
// JavaScript context went away (a navigation finishing), which a retry
// on the new context overcomes.
func contextGone(err error) bool {
	s := err.Error()
	return strings.Contains(s, "Cannot find context") || strings.Contains(s, "Execution context was destroyed") ||
		strings.Contains(s, "Inspected target navigated or closed")
}

// pageText is the visible text of the page, for failure messages.
func (b *browser) pageText() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
	if err != nil {
		return fmt.Sprintf("(unreadable: %v)", err)
	}
	if len(s) > 4000 {
		s = s[:4000] + "…"
	}
	return s
}

// click clicks the element a CSS selector names, as a mouse would.
func (b *browser) click(sel string) {
	b.t.Helper()
	b.do("click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// typeInto empties an input and types text into it, key by key.
func (b *browser) typeInto(sel, text string) {
	b.t.Helper()
	b.eval(fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.value = ""; e.dispatchEvent(new Event("input", {bubbles: true})); return true })()`, sel), nil)
	if text != "" {
		b.do("type into "+sel, chromedp.SendKeys(chromedp.CSS(sel), text, chromedp.NodeVisible))
	}
}

// audit checks what a keyboard or screen reader user needs of the page
// shown: every control has a name (a label, its text or aria-label), every
// image a text alternative, and the page one h1.
func (b *browser) audit(page string) {
	b.t.Helper()
	var problems []string
	b.eval(`(() => {
		const out = [];
		const name = (e) => (e.getAttribute("aria-label") || (e.labels && [...e.labels].map(l => l.textContent).join(" ")) || e.textContent || "").trim();
		for (const e of document.querySelectorAll("main input, main select, main textarea, main button, main a[href], header a[href], dialog[open] *")) {
			if (["INPUT", "SELECT", "TEXTAREA", "BUTTON", "A"].includes(e.tagName) && !e.closest("[hidden]") && !name(e)) out.push(e.outerHTML.slice(0, 120));
		}
		for (const img of document.querySelectorAll("img")) if (!img.hasAttribute("alt")) out.push("img without alt: " + img.src);
		if (document.querySelectorAll("main h1").length !== 1) out.push(document.querySelectorAll("main h1").length + " h1");
		return out;
	})()`, &problems)
	for _, p := range problems {
		b.t.Errorf("%s: %s", page, p)
	}
}

// screenshot writes the viewport as name.png into $DROVER_UI_SCREENSHOTS
// (relative to the repository root), when it is set.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	dir := os.Getenv("DROVER_UI_SCREENSHOTS")
	if dir == "" {
		return
	}
	if !filepath.IsAbs(dir) {
		root, err := testimage.ModuleRoot()
		if err != nil {
			b.t.Fatal(err)
		}
		dir = filepath.Join(root, dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	// Let the last changes paint, with no toast over the page.
	b.eval(`(() => { document.getElementById("toast").hidden = true; return true })()`, nil)
	time.Sleep(150 * time.Millisecond)
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("wrote %s", path)
}

// eventGate sits in front of the api and can cut /v2/events: it ends the
// streams open and refuses new ones (503) until restored, as a proxy or a
// network that drops the connection would.
type eventGate struct {
	next http.Handler

	mu      sync.Mutex
	down    bool
	cancels map[int]context.CancelFunc
	n       int
}

func newEventGate(next http.Handler) *eventGate {
	return &eventGate{next: next, cancels: map[int]context.CancelFunc{}}
}

func (g *eventGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v2/events" {
		g.next.ServeHTTP(w, r)
		return
	}
	g.mu.Lock()
	if g.down {
		g.mu.Unlock()
		http.Error(w, "event stream cut by the test", http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	g.n++
	id := g.n
	g.cancels[id] = cancel
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		delete(g.cancels, id)
		g.mu.Unlock()
		cancel()
	}()
	g.next.ServeHTTP(w, r.WithContext(ctx))
}

func (g *eventGate) cut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.down = true
	for _, cancel := range g.cancels {
		cancel()
	}
}

func (g *eventGate) restore() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.down = false
}
