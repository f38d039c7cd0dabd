package marathon

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestHostAccessOf(t *testing.T) {
	app := func(privileged bool, params ...Parameter) App {
		return App{ID: "/web", Container: &Container{Type: "DOCKER",
			Docker:  &Docker{Image: " registry.example.com/web:1 ", Privileged: privileged, Parameters: params},
			Volumes: []Volume{{HostPath: "/srv/../etc", ContainerPath: "/x", Mode: "RO"}, {ContainerPath: "/data", Mode: "RW"}}}}
	}
	tests := []struct {
		name string
		app  App
		want HostAccess
	}{
		{"no container", App{ID: "/cmd"}, HostAccess{}},
		{"privileged field", app(true), HostAccess{Image: "registry.example.com/web:1", Privileged: true, PrivilegedBy: `"privileged": true`, HostPaths: []string{"/etc"}}},
		{"volume parameter", app(false, Parameter{Key: "volume", Value: "/var/run/docker.sock:/s"}, Parameter{Key: "volume", Value: "named:/n"}),
			HostAccess{Image: "registry.example.com/web:1", HostPaths: []string{"/etc", "/var/run/docker.sock"}}},
		{"capability", app(false, Parameter{Key: "cap-add", Value: "cap_sys_admin"}),
			HostAccess{Image: "registry.example.com/web:1", Privileged: true, PrivilegedBy: "parameter cap-add=cap_sys_admin", HostPaths: []string{"/etc"}}},
		{"default capability", app(false, Parameter{Key: "cap-add", Value: "CHOWN"}), HostAccess{Image: "registry.example.com/web:1", HostPaths: []string{"/etc"}}},
		{"apparmor off", app(false, Parameter{Key: "security-opt", Value: "apparmor=unconfined"}),
			HostAccess{Image: "registry.example.com/web:1", Privileged: true, PrivilegedBy: "parameter security-opt=apparmor=unconfined", HostPaths: []string{"/etc"}}},
		{"no-new-privileges kept", app(false, Parameter{Key: "security-opt", Value: "no-new-privileges"}), HostAccess{Image: "registry.example.com/web:1", HostPaths: []string{"/etc"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HostAccessOf(tt.app); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("HostAccessOf = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestHostAccessFetch: a container app's file URIs are host paths its
// agent reads; a host command's are read as its user, and are not.
func TestHostAccessFetch(t *testing.T) {
	docker := App{ID: "/web", Container: &Container{Type: "DOCKER", Docker: &Docker{Image: "httpd"}},
		Fetch: []json.RawMessage{
			json.RawMessage(`{"uri":"file:///srv/../etc/shadow"}`), json.RawMessage(`{"uri":" /srv/conf.tgz "}`),
			json.RawMessage(`{"uri":"https://example.com/x.tgz"}`), json.RawMessage(`{"uri":"file:relative"}`),
		}}
	if got := HostAccessOf(docker).HostPaths; !reflect.DeepEqual(got, []string{"/etc/shadow", "/srv/conf.tgz"}) {
		t.Errorf("a Docker app's fetch: host paths %v", got)
	}
	docker.Fetch, docker.URIs = nil, []string{"file:///var/lib/drover/x"}
	docker.Container.Volumes = []Volume{{HostPath: "/srv/data", ContainerPath: "/data"}}
	if got := HostAccessOf(docker).HostPaths; !reflect.DeepEqual(got, []string{"/srv/data", "/var/lib/drover/x"}) {
		t.Errorf("a Docker app's uris: host paths %v", got)
	}
	cmd := "cat shadow"
	host := App{ID: "/cmd", Cmd: &cmd, Fetch: []json.RawMessage{json.RawMessage(`{"uri":"file:///etc/shadow"}`)}}
	if got := HostAccessOf(host).HostPaths; len(got) != 0 {
		t.Errorf("a host command's fetch: host paths %v", got)
	}
}

// Under --no-allow-privileged, a security-opt is privileged unless it is
// on the allow-list: an inline seccomp profile that allows every syscall
// passed the old deny-list.
func TestSecurityOptAllowList(t *testing.T) {
	for _, s := range []string{"no-new-privileges", "no-new-privileges:true", "no-new-privileges=true", "no-new-privileges=1"} {
		if !ConfiningSecurityOpt(s) {
			t.Errorf("%q refused", s)
		}
		ha := HostAccessOf(App{ID: "/a", Container: &Container{Type: "DOCKER", Docker: &Docker{Image: "x",
			Parameters: []Parameter{{Key: "security-opt", Value: s}}}}})
		if ha.Privileged {
			t.Errorf("%q is privileged", s)
		}
	}
	for _, s := range []string{
		`seccomp={"defaultAction":"SCMP_ACT_ALLOW"}`, `seccomp:{"defaultAction":"SCMP_ACT_ALLOW"}`, "seccomp=/etc/profile.json",
		"seccomp=unconfined", "apparmor=docker-default", "apparmor=my-loose-profile", "apparmor:unconfined",
		"label=type:spc_t", "label=level:s0:c1,c2", "label=user:unconfined_u", "label=role:r", "label=disable", "label:disable",
		"no-new-privileges=false", "no-new-privileges:false", "no-new-privileges=maybe", "systempaths=unconfined",
		"NO-NEW-PRIVILEGES", "no-new-privileges ", "", "mask=/proc", "unmask=ALL",
	} {
		if ConfiningSecurityOpt(s) {
			t.Errorf("%q allowed", s)
		}
		ha := HostAccessOf(App{ID: "/a", Container: &Container{Type: "DOCKER", Docker: &Docker{Image: "x",
			Parameters: []Parameter{{Key: "security-opt", Value: s}}}}})
		if s != "" && !ha.Privileged {
			t.Errorf("%q is not privileged", s)
		}
	}
}

func TestPolicyViolation(t *testing.T) {
	ha := HostAccess{Image: "httpd", Privileged: true, PrivilegedBy: "x", HostPaths: []string{"/var/nfsshare/htdocs"}}
	if why := ha.PolicyViolation(true, []string{"/var/nfsshare"}, []string{"httpd:*"}); why != "" {
		t.Errorf("allowed access refused: %s", why)
	}
	for _, tc := range []struct {
		priv     bool
		prefixes []string
		images   []string
	}{{false, nil, nil}, {true, []string{"/srv"}, nil}, {true, nil, []string{"nginx*"}}} {
		if why := ha.PolicyViolation(tc.priv, tc.prefixes, tc.images); why == "" {
			t.Errorf("PolicyViolation(%v, %v, %v) allowed it", tc.priv, tc.prefixes, tc.images)
		}
	}
}

// A ':' in a volume path would make Docker read the bind as other paths
// (a host path "/srv/a:/etc" allowed under /srv, bound as /srv/a on /etc):
// refused.
func TestVolumePathsHoldNoColon(t *testing.T) {
	a := App{ID: "/v", Cmd: new("x"), Container: &Container{Type: "DOCKER", Docker: &Docker{Image: "x"},
		Volumes: []Volume{{HostPath: "/srv/a:/etc", ContainerPath: "/c", Mode: "RW"}, {HostPath: "/srv", ContainerPath: "/c:ro", Mode: "RW"}}}}
	ApplyDefaults(&a)
	errs := Validate(&a)
	if !hasFieldError(errs, "/container/volumes(0)/hostPath", "must not contain ':'") ||
		!hasFieldError(errs, "/container/volumes(1)/containerPath", "must not contain ':'") {
		t.Errorf("Validate = %v", errs)
	}
}
