package agent

import (
	"errors"
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
			err := CheckPolicy(tt.policy, tt.app)
			if (err != nil) != tt.refused {
				t.Fatalf("CheckPolicy = %v, refused %v", err, tt.refused)
			}
			if err != nil && !errors.Is(err, ErrPolicy) {
				t.Fatalf("error %v does not wrap ErrPolicy", err)
			}
		})
	}
}
