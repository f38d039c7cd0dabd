package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/drover/drover/pkg/marathon"
)

// FetchLimits bound what one task's fetch may take.
type FetchLimits struct {
	// Timeout bounds the whole fetch, every URI included.
	Timeout time.Duration
	// MaxBytes bounds each downloaded file.
	MaxBytes int64
	// MaxExtractedBytes bounds what one archive unpacks to; MaxEntries the
	// files it holds.
	MaxExtractedBytes int64
	MaxEntries        int
}

// DefaultFetchLimits: 10 minutes, 2 GiB a download, 8 GiB and 100,000
// files an archive.
func DefaultFetchLimits() FetchLimits {
	return FetchLimits{Timeout: 10 * time.Minute, MaxBytes: 2 << 30, MaxExtractedBytes: 8 << 30, MaxEntries: 100_000}
}

// ErrFetch is wrapped by every error of Fetch.
var ErrFetch = errors.New("fetch")

// Fetch downloads each URI into dir, as Mesos' fetcher does: http(s)://
// and file:// URIs (a bare absolute path is a file), saved under their
// outputFile or the URI's last path element; executable ones made
// executable, archives extracted by their extension (extractors) unless
// extract is false. The archive is kept beside what it held. The first
// failure ends the fetch; its error names the URI and wraps ErrFetch.
//
// A file URI must name a regular file: a FIFO, a device, a socket or a
// directory is refused ("not a regular file"), opened without waiting.
//
// It reads a file:// URI, and writes what it fetches, as the process that
// runs it: the command runtime runs it as the task's user (the supervisor
// starts "agent-exec fetch" so), so that a file URI reads only what that
// user may read; the Docker runtime runs it in the agent, whose policy
// (--host-path-prefixes) bounds a Docker app's file URIs as it bounds its
// host volumes.
func Fetch(ctx context.Context, dir string, uris []marathon.FetchURI, lim FetchLimits, log *slog.Logger) error {
	return FetchWith(ctx, dir, uris, lim, http.DefaultClient, log)
}

// FetchWith is Fetch, its http(s) URIs fetched with hc (RefuseLocalClient
// for a Docker app's).
func FetchWith(ctx context.Context, dir string, uris []marathon.FetchURI, lim FetchLimits, hc *http.Client, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, lim.Timeout)
	defer cancel()
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("%w: sandbox: %w", ErrFetch, err)
	}
	defer root.Close()
	for _, u := range uris {
		start := time.Now()
		name, err := fetchOne(ctx, root, u, lim, hc)
		if err != nil {
			if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				err = fmt.Errorf("not done within %s", lim.Timeout)
			}
			return fmt.Errorf("%w %s: %w", ErrFetch, redact(u.URI), err)
		}
		log.Info("fetched", "uri", redact(u.URI), "file", name, "took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

func fetchOne(ctx context.Context, root *os.Root, f marathon.FetchURI, lim FetchLimits, hc *http.Client) (string, error) {
	u, err := url.Parse(strings.TrimSpace(f.URI))
	if err != nil {
		return "", fmt.Errorf("not a URI: %w", err)
	}
	if err := checkURI(u); err != nil {
		return "", err
	}
	name, err := outputName(f, u)
	if err != nil {
		return "", err
	}
	if d := path.Dir(name); d != "." {
		if err := root.MkdirAll(d, 0o755); err != nil {
			return "", err
		}
	}
	if err := download(ctx, root, name, u, lim.MaxBytes, hc); err != nil {
		return "", err
	}
	switch {
	case f.Executable:
		return name, root.Chmod(name, 0o755)
	case f.Extract:
		if ex := extractorFor(name); ex != nil {
			return name, ex(root, name, path.Dir(name), lim)
		}
	}
	return name, nil
}

// outputName is the file a URI is saved as, relative to the sandbox.
func outputName(f marathon.FetchURI, u *url.URL) (string, error) {
	name := f.OutputFile
	if name == "" {
		if name = path.Base(u.Path); name == "/" || name == "." {
			return "", errors.New("names no file: give it an outputFile")
		}
	}
	clean, err := sandboxPath(name)
	if err != nil {
		return "", fmt.Errorf("output file %q: %w", name, err)
	}
	return clean, nil
}

// errTraversal refuses a path that would leave the sandbox.
var errTraversal = errors.New("path leaves the sandbox (absolute, or through ..): refused")

// sandboxPath cleans a relative path that must stay inside the sandbox.
func sandboxPath(p string) (string, error) {
	p = filepath.ToSlash(p)
	if p == "" || path.IsAbs(p) || strings.HasPrefix(p, "\\") {
		if p == "" {
			return "", errors.New("empty name")
		}
		return "", errTraversal
	}
	clean := path.Clean(p)
	if clean == "." || clean == "/" {
		return "", errors.New("names no file")
	}
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", errTraversal
	}
	return clean, nil
}

// checkURI refuses what download cannot fetch.
func checkURI(u *url.URL) error {
	switch u.Scheme {
	case "http", "https":
		return nil
	case "file", "":
		if !path.IsAbs(u.Path) {
			return errors.New("a file URI needs an absolute path")
		}
		return nil
	}
	return fmt.Errorf("scheme %q is not supported: use http, https or file", u.Scheme)
}

// download copies the URI's content to name, at most max bytes.
func download(ctx context.Context, root *os.Root, name string, u *url.URL, max int64, hc *http.Client) error {
	var body io.ReadCloser
	switch u.Scheme {
	case "http", "https":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return err
		}
		resp, err := hc.Do(req)
		if lr := (*localRefused)(nil); errors.As(err, &lr) {
			// Said plainly, not as Get "...": dial tcp ...: ...
			if lr.redirect == "" && sameIP(lr.addr, u.Hostname()) {
				lr.addr = "" // the URI names it
			}
			return lr
		}
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return fmt.Errorf("GET: %s", resp.Status)
		}
		if resp.ContentLength > max {
			resp.Body.Close()
			return fmt.Errorf("%d bytes: more than the %d bytes allowed", resp.ContentLength, max)
		}
		body = resp.Body
	default: // file, checked by checkURI
		fh, err := openRegular(u.Path)
		if err != nil {
			return err
		}
		body = fh
	}
	defer body.Close()
	tmp := name + ".fetching"
	out, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	n, err := copyWithin(ctx, out, body, max+1)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > max {
		err = fmt.Errorf("more than the %d bytes allowed", max)
	}
	if err != nil {
		_ = root.Remove(tmp)
		return err
	}
	return root.Rename(tmp, name)
}

// sameIP: the address hostPort dialed is the IP address host.
func sameIP(hostPort, host string) bool {
	ap, err := netip.ParseAddrPort(hostPort)
	h, herr := netip.ParseAddr(host)
	return err == nil && herr == nil && ap.Addr().Unmap() == h.Unmap()
}

// errNotRegular refuses a file URI naming anything but a regular file.
var errNotRegular = errors.New("not a regular file")

// openRegular opens a file URI's file, a regular file only. It opens
// without blocking (O_NONBLOCK: a FIFO without a writer, a device that
// waits for a carrier, would hold the open forever, past the fetch's
// timeout) and without taking a terminal as its controlling one, then
// refuses, by the open file's own mode, a FIFO, a device (/dev/zero never
// ends), a socket or a directory (no fetch copies directories). A regular
// file ignores O_NONBLOCK: it is read as usual.
func openRegular(p string) (*os.File, error) {
	fh, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, err
	}
	if m := st.Mode(); !m.IsRegular() {
		fh.Close()
		return nil, fmt.Errorf("%w (%s)", errNotRegular, fileKind(m))
	}
	return fh, nil
}

// fileKind names what a file that is not a regular one is.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "mode " + m.String()
}

// copyWithin copies at most n bytes of r to w, ending when ctx does. The
// copy runs aside, so that a read that blocks (a pseudo file such as
// /proc/kmsg is a regular file whose read waits for the kernel; a network
// file system may hang) cannot hold the fetch past its timeout: it is then
// left behind, to end with its read, and w written no more by the caller.
// Between reads the copy checks ctx itself.
func copyWithin(ctx context.Context, w io.Writer, r io.Reader, n int64) (int64, error) {
	type result struct {
		n   int64
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := io.Copy(w, &ctxReader{ctx: ctx, r: io.LimitReader(r, n)})
		done <- result{n, err}
	}()
	select {
	case res := <-done:
		return res.n, res.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// ctxReader ends a copy when its context does, at its next read.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// redact drops a URI's user information (a password) from logs and messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}
