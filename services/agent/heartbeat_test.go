package agent

import (
	"testing"
	"time"
)

func TestProbeTimeout(t *testing.T) {
	for interval, want := range map[time.Duration]time.Duration{
		50 * time.Millisecond: 100 * time.Millisecond,
		time.Second:           500 * time.Millisecond,
		time.Minute:           2 * time.Second,
	} {
		a := &Agent{cfg: Config{HeartbeatInterval: interval}}
		if got := a.probeTimeout(); got != want {
			t.Errorf("probeTimeout at %s = %s, want %s", interval, got, want)
		}
	}
}
