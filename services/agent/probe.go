package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/drover/drover/pkg/marathon"
)

// outcome is what one probe says of a task.
type outcome int

const (
	passed  outcome = iota + 1
	failed          // counts as a failure, grace permitting
	ignored         // changes nothing: an HTTP 1xx of a check with ignoreHttp1xx
)

// probeResult is the result of one probe.
type probeResult struct {
	outcome outcome
	cause   string // why it failed
}

func pass() probeResult             { return probeResult{outcome: passed} }
func fail(cause string) probeResult { return probeResult{outcome: failed, cause: cause} }
func failErr(err error) probeResult { return fail(err.Error()) }

// schemeOf is the URL scheme of an HTTP check's protocol.
func schemeOf(protocol string) string {
	if strings.HasSuffix(protocol, "HTTPS") {
		return "https"
	}
	return "http"
}

func isCommand(protocol string) bool {
	return protocol == marathon.HealthCommand || protocol == "MESOS_COMMAND"
}

func isHTTPCheck(protocol string) bool {
	return strings.HasSuffix(protocol, "HTTP") || strings.HasSuffix(protocol, "HTTPS")
}

// prober runs single probes. It is safe for concurrent use.
type prober struct {
	client *http.Client
	exec   Execer // nil: COMMAND checks fail with ErrNoExec
}

// newProber makes a prober whose HTTP requests go straight to the task (no
// proxy), on a new connection each, without following redirects (a 3xx
// passes) and, for HTTPS, without verifying the task's certificate, as
// Marathon's checks do.
func newProber(exec Execer) *prober {
	tr := &http.Transport{
		DialContext:       (&net.Dialer{}).DialContext,
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // tasks serve self-signed certificates
		DisableKeepAlives: true,
	}
	client := &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &prober{client: client, exec: exec}
}

// close releases the prober's connections.
func (p *prober) close() { p.client.CloseIdleConnections() }

// health runs one health check against target (host:port; unused by COMMAND checks).
func (p *prober) health(ctx context.Context, hc marathon.HealthCheck, taskID, target string, timeout time.Duration) probeResult {
	switch {
	case isCommand(hc.Protocol):
		return p.command(ctx, taskID, hc.CommandValue(), timeout)
	case isHTTPCheck(hc.Protocol):
		code, err := p.httpStatus(ctx, schemeOf(hc.Protocol), target, hc.Path, timeout)
		if err != nil {
			return failErr(err)
		}
		return httpVerdict(code, hc.IgnoreHTTP1xx)
	case hc.Protocol == marathon.HealthTCP || hc.Protocol == marathon.HealthMesosTCP:
		return p.tcp(ctx, target, timeout)
	}
	return fail(fmt.Sprintf("unknown health check protocol %q", hc.Protocol))
}

// httpVerdict is Marathon's reading of a health check's HTTP status: 200 to
// 399 pass; 100 to 199 are ignored when the check says so; the rest fail.
func httpVerdict(code int, ignore1xx bool) probeResult {
	switch {
	case code >= 200 && code < 400:
		return pass()
	case code >= 100 && code < 200 && ignore1xx:
		return probeResult{outcome: ignored}
	}
	return fail(fmt.Sprintf("HTTP status %d", code))
}

// ready runs one readiness check against target: ready when the status is
// one of the check's.
func (p *prober) ready(ctx context.Context, rc marathon.ReadinessCheck, target string, timeout time.Duration) probeResult {
	code, err := p.httpStatus(ctx, schemeOf(rc.Protocol), target, rc.Path, timeout)
	switch {
	case err != nil:
		return failErr(err)
	case slices.Contains(rc.HTTPStatusCodesForReady, code):
		return pass()
	}
	return fail(fmt.Sprintf("HTTP status %d", code))
}

// httpStatus GETs path from addr within timeout and returns the status.
func (p *prober) httpStatus(ctx context.Context, scheme, addr, path string, timeout time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+addr+path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("User-Agent", "drover-agent")
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, timeoutCause(err, timeout)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 { // a 101's body is the connection: never read it
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	}
	return resp.StatusCode, nil
}

// tcp connects to addr within timeout.
func (p *prober) tcp(ctx context.Context, addr string, timeout time.Duration) probeResult {
	d := net.Dialer{Timeout: timeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return failErr(timeoutCause(err, timeout))
	}
	_ = c.Close()
	return pass()
}

// command runs cmd with /bin/sh -c in the task's container within timeout;
// exit code 0 passes.
func (p *prober) command(ctx context.Context, taskID, cmd string, timeout time.Duration) probeResult {
	if p.exec == nil {
		return failErr(ErrNoExec)
	}
	if cmd == "" {
		return fail("no command.value")
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := p.exec.Exec(ctx, taskID, []string{"/bin/sh", "-c", cmd})
	if err != nil {
		return failErr(timeoutCause(err, timeout))
	}
	if res.ExitCode != 0 {
		cause := fmt.Sprintf("exit code %d", res.ExitCode)
		if out := strings.TrimSpace(res.Output); out != "" {
			cause += ": " + truncate(out, 200)
		}
		return fail(cause)
	}
	return pass()
}

// timeoutCause says "timed out" for an error of the probe's deadline.
func timeoutCause(err error, timeout time.Duration) error {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("timed out after %s", timeout)
	}
	return err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
