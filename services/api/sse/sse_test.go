package sse

import (
	"strings"
	"testing"
)

// An event's data is one line: compact JSON, whatever newlines the
// published payload had; a payload that is not JSON is refused.
func TestSSEData(t *testing.T) {
	if got, ok := sseData([]byte("{\"a\":\n\"b\\nc\"}")); !ok || strings.Contains(string(got), "\n") {
		t.Errorf("sseData kept a newline: %q", got)
	}
	if _, ok := sseData([]byte("x\n\nevent: forged")); ok {
		t.Error("sseData took a payload that is not JSON")
	}
}
