package sandbox

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/agent/sandbox/sandboxtest"
)

func fetchInto(t testing.TB, uris ...marathon.FetchURI) (string, error) {
	t.Helper()
	dir := t.TempDir()
	return dir, Fetch(t.Context(), dir, uris, DefaultFetchLimits(), slog.New(slog.DiscardHandler))
}

func readFile(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFetchExtracts(t *testing.T) {
	app := sandboxtest.Tar(t, sandboxtest.Entry{Name: "app/", Type: tar.TypeDir, Mode: 0o755},
		sandboxtest.Entry{Name: "app/run.sh", Body: "echo hi\n", Mode: 0o4755},
		sandboxtest.Entry{Name: "app/current", Type: tar.TypeSymlink, Link: "run.sh"},
		sandboxtest.Entry{Name: "app/hard", Type: tar.TypeLink, Link: "app/run.sh"})
	base := sandboxtest.Serve(t, map[string][]byte{
		"/app.tar.gz":  sandboxtest.Gzip(t, app),
		"/app.tgz":     sandboxtest.Gzip(t, app),
		"/app.tar":     app,
		"/app.tar.xz":  sandboxtest.Xz(t, app),
		"/site.zip":    sandboxtest.Zip(t, map[string]string{"site/index.html": "<p>hi</p>"}),
		"/notes.gz":    sandboxtest.Gzip(t, []byte("notes")),
		"/tool":        []byte("#!/bin/sh\necho tool\n"),
		"/keep.tar.gz": sandboxtest.Gzip(t, app),
	})
	for _, name := range []string{"app.tar.gz", "app.tgz", "app.tar", "app.tar.xz"} {
		t.Run(name, func(t *testing.T) {
			dir, err := fetchInto(t, marathon.FetchURI{URI: base + "/" + name, Extract: true})
			if err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, filepath.Join(dir, "app/run.sh")); got != "echo hi\n" {
				t.Errorf("run.sh = %q", got)
			}
			st, err := os.Stat(filepath.Join(dir, "app/run.sh"))
			if err != nil || st.Mode() != 0o755 {
				t.Errorf("run.sh mode %v (%v), want 0755 without setuid", st.Mode(), err)
			}
			if l, err := os.Readlink(filepath.Join(dir, "app/current")); err != nil || l != "run.sh" {
				t.Errorf("symlink %q %v", l, err)
			}
			if got := readFile(t, filepath.Join(dir, "app/hard")); got != "echo hi\n" {
				t.Errorf("hard link = %q", got)
			}
			if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
				t.Errorf("the archive is not kept: %v", err)
			}
		})
	}
	dir, err := fetchInto(t,
		marathon.FetchURI{URI: base + "/site.zip", Extract: true},
		marathon.FetchURI{URI: base + "/notes.gz", Extract: true},
		marathon.FetchURI{URI: base + "/tool", Executable: true, OutputFile: "bin/tool"},
		marathon.FetchURI{URI: base + "/keep.tar.gz", Extract: false})
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, "site/index.html")); got != "<p>hi</p>" {
		t.Errorf("zip: %q", got)
	}
	if got := readFile(t, filepath.Join(dir, "notes")); got != "notes" {
		t.Errorf("gz: %q", got)
	}
	if st, err := os.Stat(filepath.Join(dir, "bin/tool")); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("executable: %v %v", st, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "app")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("extract: false extracted: %v", err)
	}
}

func TestFetchFileURI(t *testing.T) {
	src := filepath.Join(t.TempDir(), "conf.txt")
	if err := os.WriteFile(src, []byte("x=1"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir, err := fetchInto(t, marathon.FetchURI{URI: "file://" + src}, marathon.FetchURI{URI: src, OutputFile: "again.txt"})
	if err != nil {
		t.Fatal(err)
	}
	if readFile(t, filepath.Join(dir, "conf.txt")) != "x=1" || readFile(t, filepath.Join(dir, "again.txt")) != "x=1" {
		t.Error("file URIs not copied")
	}
}

// TestFetchFileNotRegular: a file URI naming a FIFO (whose open would wait
// for a writer), a device that never ends (/dev/zero) or a directory fails
// at once, saying it is not a regular file, the fetch's timeout (here 10
// minutes) unneeded; nothing is left in the sandbox.
func TestFetchFileNotRegular(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ uri, kind string }{
		{"file://" + fifo, "a named pipe"},
		{"file:///dev/zero", "a character device"},
		{"file://" + t.TempDir(), "a directory"},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			done := make(chan error, 1)
			var dir string
			go func() {
				var err error
				dir, err = fetchInto(t, marathon.FetchURI{URI: tc.uri, OutputFile: "out"})
				done <- err
			}()
			select {
			case err := <-done:
				want := "fetch " + tc.uri + ": not a regular file (" + tc.kind + ")"
				if err == nil || !errors.Is(err, ErrFetch) || err.Error() != want {
					t.Fatalf("error %v, want %q", err, want)
				}
				if left, _ := os.ReadDir(dir); len(left) > 0 {
					t.Errorf("left in the sandbox: %v", left)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the fetch blocks")
			}
		})
	}
}

// blockingReader is a read that never returns, whatever its context (as
// one of /proc/kmsg waits for the kernel).
type blockingReader struct{ release chan struct{} }

func (b blockingReader) Read([]byte) (int, error) {
	<-b.release
	return 0, io.EOF
}

// TestCopyWithinTimeout: a copy whose read blocks ends with its context.
func TestCopyWithinTimeout(t *testing.T) {
	r := blockingReader{release: make(chan struct{})}
	defer close(r.release)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := copyWithin(ctx, io.Discard, r, 1<<20)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("copyWithin = %v after %s, want the deadline's error at once", err, time.Since(start))
	}
	n, err := copyWithin(t.Context(), io.Discard, strings.NewReader("hello"), 3)
	if n != 3 || err != nil {
		t.Errorf("copyWithin = %d, %v; want 3 bytes", n, err)
	}
}

// TestFetchRefuses: every bad input is an error that says what is wrong,
// and nothing is written outside the sandbox.
func TestFetchRefuses(t *testing.T) {
	outside := t.TempDir()
	base := sandboxtest.Serve(t, map[string][]byte{
		"/dotdot.tar.gz":   sandboxtest.Gzip(t, sandboxtest.Tar(t, sandboxtest.Entry{Name: "../../" + filepath.Base(outside) + "/evil", Body: "x"})),
		"/abs.tar":         sandboxtest.Tar(t, sandboxtest.Entry{Name: outside + "/evil", Body: "x"}),
		"/symlink.tar":     sandboxtest.Tar(t, sandboxtest.Entry{Name: "out", Type: tar.TypeSymlink, Link: outside}, sandboxtest.Entry{Name: "out/evil", Body: "x"}),
		"/relsymlink.tar":  sandboxtest.Tar(t, sandboxtest.Entry{Name: "a/out", Type: tar.TypeSymlink, Link: "../../" + filepath.Base(outside)}),
		"/hardlink.tar":    sandboxtest.Tar(t, sandboxtest.Entry{Name: "h", Type: tar.TypeLink, Link: "../etc/passwd"}),
		"/dotdot.zip":      sandboxtest.Zip(t, map[string]string{"../evil": "x"}),
		"/text.tar.gz":     []byte("this is no archive"),
		"/text.zip":        []byte("this is no archive"),
		"/empty.tar":       {},
		"/big":             bytes.Repeat([]byte("x"), 2048),
		"/bomb.tar.gz":     sandboxtest.Gzip(t, sandboxtest.Tar(t, sandboxtest.Entry{Name: "big", Body: strings.Repeat("x", 4096)})),
		"/nothing-to-name": []byte("x"),
	})
	tests := []struct {
		name string
		uri  marathon.FetchURI
		want string
	}{
		{"404", marathon.FetchURI{URI: base + "/missing.tgz", Extract: true}, "404 Not Found"},
		{"tar entry with ..", marathon.FetchURI{URI: base + "/dotdot.tar.gz", Extract: true}, "leaves the sandbox"},
		{"tar entry absolute", marathon.FetchURI{URI: base + "/abs.tar", Extract: true}, "leaves the sandbox"},
		{"symlink out then through it", marathon.FetchURI{URI: base + "/symlink.tar", Extract: true}, "leaves the sandbox"},
		{"relative symlink out", marathon.FetchURI{URI: base + "/relsymlink.tar", Extract: true}, "leaves the sandbox"},
		{"hard link out", marathon.FetchURI{URI: base + "/hardlink.tar", Extract: true}, "leaves the sandbox"},
		{"zip entry with ..", marathon.FetchURI{URI: base + "/dotdot.zip", Extract: true}, "leaves the sandbox"},
		{"not a gzip", marathon.FetchURI{URI: base + "/text.tar.gz", Extract: true}, "not a valid archive"},
		{"not a zip", marathon.FetchURI{URI: base + "/text.zip", Extract: true}, "not a valid archive"},
		{"empty tar", marathon.FetchURI{URI: base + "/empty.tar", Extract: true}, "no entries"},
		{"output file out", marathon.FetchURI{URI: base + "/big", OutputFile: "../big"}, "leaves the sandbox"},
		{"output file absolute", marathon.FetchURI{URI: base + "/big", OutputFile: "/etc/big"}, "leaves the sandbox"},
		{"no file name", marathon.FetchURI{URI: base + "/"}, "names no file"},
		{"scheme", marathon.FetchURI{URI: "ftp://example.com/x"}, `scheme "ftp" is not supported`},
		{"relative file", marathon.FetchURI{URI: "file:x"}, "absolute path"},
		{"missing file", marathon.FetchURI{URI: "file:///nonexistent/drover/x"}, "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := fetchInto(t, tc.uri)
			if err == nil || !errors.Is(err, ErrFetch) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one wrapping ErrFetch saying %q", err, tc.want)
			}
		})
	}
	if left, _ := os.ReadDir(outside); len(left) > 0 {
		t.Errorf("written outside the sandbox: %v", left)
	}

	lim := DefaultFetchLimits()
	lim.MaxBytes, lim.MaxExtractedBytes = 1024, 1024
	for uri, want := range map[string]string{base + "/big": "1024 bytes allowed", base + "/bomb.tar.gz": "unpacks to more than"} {
		err := Fetch(t.Context(), t.TempDir(), []marathon.FetchURI{{URI: uri, Extract: true}}, lim, slog.New(slog.DiscardHandler))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", uri, err, want)
		}
	}
}
