package agent

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
)

func TestCheckPolicy(t *testing.T) {
	app := func(privileged bool, hostPaths []string, params ...marathon.Parameter) marathon.App {
		c := &marathon.Container{Type: "DOCKER", Docker: &marathon.Docker{Image: "httpd", Privileged: privileged, Parameters: params}}
		for _, hp := range hostPaths {
			c.Volumes = append(c.Volumes, marathon.Volume{HostPath: hp, ContainerPath: "/data", Mode: "RO"})
		}
		return marathon.App{ID: "/web", Container: c}
	}
	open := events.AgentPolicy{AllowPrivileged: true}
	strict := events.AgentPolicy{HostPathPrefixes: []string{"/srv", "/var/nfsshare/"}}
	tests := []struct {
		name    string
		policy  events.AgentPolicy
		app     marathon.App
		refused bool
	}{
		{"no container", strict, marathon.App{ID: "/cmd"}, false},
		{"host command refused", strict, marathon.App{ID: "/cmd", Cmd: new("sleep 1")}, true},
		{"host command allowed", events.AgentPolicy{AllowHostCommands: true}, marathon.App{ID: "/cmd", Cmd: new("sleep 1")}, false},
		{"command in a container", strict, func() marathon.App { a := app(false, nil); a.Cmd = new("sleep 1"); return a }(), false},
		{"open policy allows all", open, app(true, []string{"/etc"}), false},
		{"privileged refused", strict, app(true, nil), true},
		{"prefix itself", strict, app(false, []string{"/srv"}), false},
		{"inside prefix", strict, app(false, []string{"/var/nfsshare/htdocs"}), false},
		{"outside prefix", strict, app(false, []string{"/etc"}), true},
		{"sibling with same start", strict, app(false, []string{"/srvx"}), true},
		{"dot-dot escape", strict, app(false, []string{"/srv/../etc"}), true},
		{"volume parameter outside", strict, app(false, nil, marathon.Parameter{Key: "volume", Value: "/etc:/x:ro"}), true},
		{"named volume parameter", strict, app(false, nil, marathon.Parameter{Key: "volume", Value: "data:/x"}), false},
		{"root prefix", events.AgentPolicy{HostPathPrefixes: []string{"/"}}, app(false, []string{"/etc"}), false},
		{"cap-add SYS_ADMIN is privileged", strict, app(false, nil, marathon.Parameter{Key: "cap-add", Value: "SYS_ADMIN"}), true},
		{"cap-add ALL is privileged", strict, app(false, nil, marathon.Parameter{Key: "cap-add", Value: "ALL"}), true},
		{"cap-add of a default capability", strict, app(false, nil, marathon.Parameter{Key: "cap-add", Value: "NET_BIND_SERVICE"}), false},
		{"host device is privileged", strict, app(false, nil, marathon.Parameter{Key: "device", Value: "/dev/sda"}), true},
		{"seccomp unconfined is privileged", strict, app(false, nil, marathon.Parameter{Key: "security-opt", Value: "seccomp=unconfined"}), true},
		{"privileged parameters allowed when privileged is", open, app(false, nil, marathon.Parameter{Key: "cap-add", Value: "ALL"}), false},
		{"image allowed", events.AgentPolicy{ImagePatterns: []string{"httpd:*"}}, app(false, nil), false},
		{"image refused", events.AgentPolicy{ImagePatterns: []string{"registry.example.com/*"}}, app(false, nil), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckPolicy(tt.policy, marathon.HostAccessOf(tt.app))
			if (err != nil) != tt.refused {
				t.Fatalf("CheckPolicy = %v, refused %v", err, tt.refused)
			}
			if err != nil && !errors.Is(err, ErrPolicy) {
				t.Fatalf("error %v does not wrap ErrPolicy", err)
			}
		})
	}
}

// Host-path prefixes are checked on the real path: a symlink under an
// allowed prefix that leads out of it is refused, for a volume and for the
// volume parameter, whether the path below the link exists or not.
func TestCheckPolicyResolvesSymlinks(t *testing.T) {
	tmp := t.TempDir()
	mk := func(dirs ...string) {
		for _, d := range dirs {
			if err := os.MkdirAll(filepath.Join(tmp, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	link := func(target, name string) {
		if err := os.Symlink(target, filepath.Join(tmp, name)); err != nil {
			t.Fatal(err)
		}
	}
	mk("srv/data/real", "etc", "outside")
	link(filepath.Join(tmp, "etc"), "srv/data/escape")            // absolute target
	link("../../outside", "srv/data/rel")                         // relative target
	link(filepath.Join(tmp, "outside", "notyet"), "srv/dangling") // dangling
	link("loop2", "srv/loop1")
	link("loop1", "srv/loop2")
	link(filepath.Join(tmp, "srv"), "srvlink") // the prefix through a link
	link("real", "srv/data/inside")            // a link that stays inside
	at := func(p string) string { return filepath.Join(tmp, p) }
	policy := events.AgentPolicy{HostPathPrefixes: []string{at("srv")}}
	vol := func(hp string) marathon.App {
		return marathon.App{ID: "/w", Container: &marathon.Container{Type: "DOCKER", Docker: &marathon.Docker{Image: "httpd"},
			Volumes: []marathon.Volume{{HostPath: hp, ContainerPath: "/d", Mode: "RW"}}}}
	}
	param := func(hp string) marathon.App {
		return marathon.App{ID: "/w", Container: &marathon.Container{Type: "DOCKER", Docker: &marathon.Docker{Image: "httpd",
			Parameters: []marathon.Parameter{{Key: "volume", Value: hp + ":/d:rw"}}}}}
	}
	for _, c := range []struct {
		path    string
		refused bool
	}{
		{at("srv/data/escape"), true},
		{at("srv/data/escape/passwd"), true},
		{at("srv/data/escape/new/dir"), true},
		{at("srv/data/rel"), true},
		{at("srv/dangling/x"), true},
		{at("srv/loop1"), true},
		{at("srv/data/real"), false},
		{at("srv/data/inside/x"), false},
		{at("srv/not/yet/there"), false},
	} {
		for kind, app := range map[string]marathon.App{"volume": vol(c.path), "parameter": param(c.path)} {
			err := CheckPolicy(policy, marathon.HostAccessOf(app))
			if got := errors.Is(err, ErrPolicy); got != c.refused {
				t.Errorf("%s %s: %v, want refused %v", kind, c.path, err, c.refused)
			}
		}
	}
	// A prefix that is itself a link allows what lies under its target.
	viaLink := events.AgentPolicy{HostPathPrefixes: []string{at("srvlink")}}
	if err := CheckPolicy(viaLink, marathon.HostAccessOf(vol(at("srvlink/data/real")))); err != nil {
		t.Errorf("through a linked prefix: %v", err)
	}
	if err := CheckPolicy(viaLink, marathon.HostAccessOf(vol(at("srvlink/data/escape")))); !errors.Is(err, ErrPolicy) {
		t.Errorf("escape through a linked prefix: %v", err)
	}
}

func TestRealPath(t *testing.T) {
	tmp := t.TempDir()
	if err := os.Symlink("/etc", filepath.Join(tmp, "e")); err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		filepath.Join(tmp, "e"):           "/etc",
		filepath.Join(tmp, "e/../x"):      filepath.Join(tmp, "x"), // cleaned first, as Docker does
		filepath.Join(tmp, "e", "nope/z"): "/etc/nope/z",
		"/":                               "/",
	} {
		real, err := RealPath(in)
		if err != nil {
			t.Fatalf("RealPath(%q): %v", in, err)
		}
		if want == "/" || want == "/etc" || strings.HasPrefix(want, "/etc/") {
			// /etc itself is no link on this machine's test images; compare resolved.
			if r, err := filepath.EvalSymlinks("/etc"); err == nil && r != "/etc" {
				want = strings.Replace(want, "/etc", r, 1)
			}
		}
		if real != want {
			t.Errorf("RealPath(%q) = %q, want %q", in, real, want)
		}
	}
	if _, err := RealPath("rel"); err == nil {
		t.Error("a relative path was resolved")
	}
}
