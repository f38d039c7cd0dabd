package docker

import (
	"slices"
	"testing"

	"github.com/docker/docker/api/types/container"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
)

func TestMissingCaps(t *testing.T) {
	status := "Name:\tagent\nCapEff:\t000001fffeffffff\nCapBnd:\t000001fffeffffff\n"
	got, err := missingCaps(status)
	if err != nil || !slices.Equal(got, []string{"SYS_RESOURCE"}) {
		t.Fatalf("missingCaps = %v, %v", got, err)
	}
	if got, _ := missingCaps("CapBnd:\t000001ffffffffff\n"); len(got) != 0 {
		t.Fatalf("full set misses %v", got)
	}
	if _, err := missingCaps("Name:\tx\n"); err == nil {
		t.Fatal("no CapBnd accepted")
	}
	if _, err := missingCaps("CapBnd:\tzz\n"); err == nil {
		t.Fatal("bad CapBnd accepted")
	}
}

func TestResolvePrivileged(t *testing.T) {
	if mode, drop, err := resolvePrivileged(""); mode != PrivilegedFull || drop != nil || err != nil {
		t.Fatalf("default = %s %v %v", mode, drop, err)
	}
	if mode, _, err := resolvePrivileged(PrivilegedCaps); mode != PrivilegedCaps || err != nil {
		t.Fatalf("caps = %s %v", mode, err)
	}
	if mode, _, err := resolvePrivileged(PrivilegedAuto); err != nil || (mode != PrivilegedFull && mode != PrivilegedCaps) {
		t.Fatalf("auto = %s %v", mode, err)
	}
}

func TestApplyPrivileged(t *testing.T) {
	h := &container.HostConfig{Privileged: true, CapDrop: []string{"MKNOD"}}
	applyPrivileged(h, PrivilegedCaps, []string{"SYS_RESOURCE"})
	if h.Privileged || !slices.Equal(h.CapAdd, []string{"ALL"}) || !slices.Equal(h.CapDrop, []string{"MKNOD", "SYS_RESOURCE"}) ||
		!slices.Contains(h.SecurityOpt, "seccomp=unconfined") {
		t.Fatalf("caps mode: %+v", h)
	}
	full := &container.HostConfig{Privileged: true}
	applyPrivileged(full, PrivilegedFull, nil)
	if !full.Privileged || full.CapAdd != nil {
		t.Fatalf("full mode changed the container: %+v", full)
	}
	plain := &container.HostConfig{}
	applyPrivileged(plain, PrivilegedCaps, []string{"SYS_RESOURCE"})
	if plain.CapAdd != nil || plain.SecurityOpt != nil {
		t.Fatalf("caps mode touched an unprivileged container: %+v", plain)
	}
}

// TestPrivilegedAuto launches the scenario's privileged app in the mode this
// host supports.
func TestPrivilegedAuto(t *testing.T) {
	cli := requireDocker(t)
	cfg := DefaultConfig()
	cfg.AgentID, cfg.Privileged = newAgentID(t), PrivilegedAuto
	r := newRuntimeWith(t, cli, cfg)
	app := httpdApp(t.TempDir())
	app.Container.Docker.Privileged = true
	app.Container.Docker.Parameters = []marathon.Parameter{{Key: "cap-drop", Value: "MKNOD"}}
	rep, err := r.Launch(t.Context(), "priv.1", resolve(t, events.LaunchSpec{App: app}))
	if err != nil || rep.State != events.TaskRunning {
		t.Fatalf("privileged launch in mode %s = %+v, %v", r.privMode, rep, err)
	}
}
