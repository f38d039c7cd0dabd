package bench

import "testing"

// TestLeaderHost: /v2/leader answers host:port since the leader record
// carries the api's address; the bench finds the scheduler by its host.
func TestLeaderHost(t *testing.T) {
	for in, want := range map[string]string{"bench-1:8080": "bench-1", "bench-2": "bench-2", "[::1]:8080": "::1"} {
		if got := leaderHost(in); got != want {
			t.Errorf("leaderHost(%q) = %q, want %q", in, got, want)
		}
	}
}
