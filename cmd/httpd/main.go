// Command httpd is a static file server, the stand-in for the "httpd" image of
// Drover's example app: it serves a directory and answers /healthz. It builds
// into a static binary (CGO_ENABLED=0) for an image FROM scratch.
//
// For health check tests, POST /fail makes /healthz answer 500 from then on,
// and POST /recover makes it answer 200 again:
//
//	curl -X POST http://host:port/fail
package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", ":80", "address to listen on")
	dir := flag.String("dir", "/usr/local/apache2/htdocs", "directory to serve")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, *addr, *dir, logger); err != nil {
		logger.Error("httpd failed", "error", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, addr, dir string, logger *slog.Logger) error {
	srv := &http.Server{Addr: addr, Handler: newHandler(dir), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	logger.Info("httpd serving", "addr", addr, "dir", dir)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("httpd shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func newHandler(dir string) http.Handler {
	var failing atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		if failing.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte("failing\n"))
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	flip := func(fail bool) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			failing.Store(fail)
			w.WriteHeader(http.StatusNoContent)
		}
	}
	mux.HandleFunc("POST /fail", flip(true))
	mux.HandleFunc("POST /recover", flip(false))
	mux.Handle("/", http.FileServer(http.Dir(dir)))
	return mux
}
