package agent

import (
	"math"
	"testing"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
)

func TestCheckCommand(t *testing.T) {
	spec := &events.LaunchSpec{}
	tests := []struct {
		cmd events.Command
		ok  bool
	}{
		{events.Command{Kind: events.CommandLaunch, TaskID: "t", Launch: spec}, true},
		{events.Command{Kind: events.CommandKill, TaskID: "t"}, true},
		{events.Command{Kind: events.CommandLaunch, TaskID: "t"}, false},
		{events.Command{Kind: events.CommandKill}, false},
		{events.Command{Kind: "reboot", TaskID: "t"}, false},
	}
	for _, tt := range tests {
		if err := checkCommand(tt.cmd); (err == nil) != tt.ok {
			t.Errorf("checkCommand(%+v) = %v, want ok %v", tt.cmd, err, tt.ok)
		}
	}
}

func TestKillGrace(t *testing.T) {
	a := &Agent{cfg: Config{KillGrace: 3 * time.Second}, graces: map[string]time.Duration{}}
	withGrace := func(s float64) *events.LaunchSpec {
		return &events.LaunchSpec{App: marathon.App{TaskKillGracePeriodSeconds: &s}}
	}
	if g := a.graceOf(events.Command{TaskID: "t"}); g != 3*time.Second {
		t.Fatalf("default grace %s", g)
	}
	if g := a.graceOf(events.Command{TaskID: "t", Launch: withGrace(1.5)}); g != 1500*time.Millisecond {
		t.Fatalf("grace from the command's spec %s", g)
	}
	a.rememberGrace("t", *withGrace(10))
	if g := a.graceOf(events.Command{TaskID: "t"}); g != 10*time.Second {
		t.Fatalf("grace remembered from the launch %s", g)
	}
	a.forgetGrace("t")
	for _, bad := range []float64{0, -1, math.NaN(), 1e9} {
		if g := graceSeconds(withGrace(bad)); g != 0 {
			t.Errorf("graceSeconds(%v) = %s", bad, g)
		}
	}
}
