package docker

import (
	"net/http"
	"strings"
)

// limitedTransport bounds the runtime's Docker calls in flight, so a slow
// daemon is not handed more work the slower it gets. A call waits for a
// slot while its context lives. Pings (the judge's liveness probe, and
// cheap for the daemon) and the events stream (open for the runtime's
// life) skip the bound. A slot is held until the daemon's answer begins:
// for create, start, stop, remove and inspect that is when the work is done.
type limitedTransport struct {
	base  http.RoundTripper
	slots chan struct{}
}

func newLimitedTransport(base http.RoundTripper, n int) *limitedTransport {
	return &limitedTransport{base: base, slots: make(chan struct{}, n)}
}

func (t *limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if unbounded(req.URL.Path) {
		return t.base.RoundTrip(req)
	}
	select {
	case t.slots <- struct{}{}:
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
	defer func() { <-t.slots }()
	return t.base.RoundTrip(req)
}

// unbounded: the daemon's ping and events endpoints, under any API version prefix.
func unbounded(path string) bool {
	return strings.HasSuffix(path, "/_ping") || strings.HasSuffix(path, "/events")
}
