package consumers

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// sseEvent is one server-sent event: its `event:` name and its data.
type sseEvent struct {
	Name string
	Data map[string]any
}

// eventLog follows a /v2/events stream as marathon-lb does (Accept:
// text/event-stream) and keeps what it reads, until the test ends.
type eventLog struct {
	mu     sync.Mutex
	events []sseEvent
	err    error
}

func followEvents(t *testing.T, url string) *eventLog {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET %s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		cancel()
		resp.Body.Close()
		t.Fatalf("GET %s: %d %s, want 200 text/event-stream", url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	l := &eventLog{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 0, 64*1024), 8<<20)
		var name, data string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event:"):
				name = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			case strings.HasPrefix(line, "data:"):
				data += strings.TrimSpace(strings.TrimPrefix(line, "data:"))
			case line == "" && data != "":
				var m map[string]any
				err := json.Unmarshal([]byte(data), &m)
				l.mu.Lock()
				if err != nil && l.err == nil {
					l.err = fmt.Errorf("event %q: %w: %s", name, err, data)
				}
				l.events = append(l.events, sseEvent{Name: name, Data: m})
				l.mu.Unlock()
				name, data = "", ""
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return l
}

// snapshot is what the stream has sent so far, and its first decoding error.
func (l *eventLog) snapshot() ([]sseEvent, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]sseEvent(nil), l.events...), l.err
}
