package marathon

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func ptr[T any](v T) *T { return &v }

func TestParseDockerParameters(t *testing.T) {
	tests := []struct {
		name string
		in   []Parameter
		want DockerOptions
	}{
		{name: "none", in: nil, want: DockerOptions{}},
		{
			name: "example app",
			in:   []Parameter{{Key: "publish", Value: "80:80"}},
			want: DockerOptions{Publish: []PortPublish{{HostPort: 80, HostPortEnd: 80, ContainerPort: 80, ContainerPortEnd: 80, Protocol: "tcp"}}},
		},
		{
			name: "env and labels",
			in: []Parameter{
				{Key: "env", Value: "A=1"}, {Key: "env", Value: "B=x=y"}, {Key: "env", Value: "EMPTY="},
				{Key: "label", Value: "team=web"}, {Key: "label", Value: "flag"},
			},
			want: DockerOptions{Env: []string{"A=1", "B=x=y", "EMPTY="}, Labels: map[string]string{"team": "web", "flag": ""}},
		},
		{
			name: "volumes",
			in: []Parameter{
				{Key: "volume", Value: "/srv/www:/usr/share/www:ro"},
				{Key: "volume", Value: "data:/data"},
				{Key: "volume", Value: "/scratch"},
				{Key: "volume", Value: "/a:/b:rw,z"},
			},
			want: DockerOptions{Volumes: []VolumeBind{
				{Source: "/srv/www", Target: "/usr/share/www", Mode: "ro"},
				{Source: "data", Target: "/data"},
				{Target: "/scratch"},
				{Source: "/a", Target: "/b", Mode: "rw,z"},
			}},
		},
		{
			name: "process",
			in: []Parameter{
				{Key: "cap-add", Value: "NET_ADMIN"}, {Key: "cap-drop", Value: "MKNOD"},
				{Key: "add-host", Value: "db:10.0.0.5"}, {Key: "add-host", Value: "v6=::1"}, {Key: "add-host", Value: "gw:host-gateway"},
				{Key: "user", Value: "nobody"}, {Key: "workdir", Value: "/app"}, {Key: "hostname", Value: "web1"},
				{Key: "init", Value: "true"}, {Key: "read-only", Value: ""}, {Key: "stop-signal", Value: "SIGINT"},
				{Key: "security-opt", Value: "no-new-privileges"}, {Key: "sysctl", Value: "net.core.somaxconn=1024"},
			},
			want: DockerOptions{
				CapAdd: []string{"NET_ADMIN"}, CapDrop: []string{"MKNOD"},
				ExtraHosts: []string{"db:10.0.0.5", "v6:::1", "gw:host-gateway"},
				User:       "nobody", Workdir: "/app", Hostname: "web1",
				Init: ptr(true), ReadOnly: true, StopSignal: "SIGINT",
				SecurityOpt: []string{"no-new-privileges"}, Sysctls: map[string]string{"net.core.somaxconn": "1024"},
			},
		},
		{
			name: "logging and dns",
			in: []Parameter{
				{Key: "log-driver", Value: "json-file"}, {Key: "log-opt", Value: "max-size=10m"},
				{Key: "dns", Value: "1.1.1.1"}, {Key: "dns-search", Value: "example.com"},
			},
			want: DockerOptions{
				LogDriver: "json-file", LogOpts: map[string]string{"max-size": "10m"},
				DNS: []string{"1.1.1.1"}, DNSSearch: []string{"example.com"},
			},
		},
		{
			name: "limits",
			in: []Parameter{
				{Key: "ulimit", Value: "nofile=1024:2048"}, {Key: "ulimit", Value: "core=-1"},
				{Key: "memory-swap", Value: "-1"}, {Key: "shm-size", Value: "64m"},
				{Key: "tmpfs", Value: "/run:rw,size=64m"}, {Key: "tmpfs", Value: "/tmp"},
				{Key: "device", Value: "/dev/fuse"}, {Key: "device", Value: "/dev/sda:/dev/xvda:r"}, {Key: "device", Value: "/dev/null:rw"},
			},
			want: DockerOptions{
				Ulimits:    []Ulimit{{Name: "nofile", Soft: 1024, Hard: 2048}, {Name: "core", Soft: -1, Hard: -1}},
				MemorySwap: ptr(int64(-1)), ShmSize: ptr(int64(64 << 20)),
				Tmpfs: map[string]string{"/run": "rw,size=64m", "/tmp": ""},
				Devices: []Device{
					{PathOnHost: "/dev/fuse", PathInContainer: "/dev/fuse", Permissions: "rwm"},
					{PathOnHost: "/dev/sda", PathInContainer: "/dev/xvda", Permissions: "r"},
					{PathOnHost: "/dev/null", PathInContainer: "/dev/null", Permissions: "rw"},
				},
			},
		},
		{
			name: "dashes tolerated",
			in:   []Parameter{{Key: "--user", Value: "1000"}},
			want: DockerOptions{User: "1000"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDockerParameters(tt.in)
			if err != nil {
				t.Fatalf("ParseDockerParameters: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseDockerParametersErrors(t *testing.T) {
	tests := []struct {
		key, value string
		unknown    bool
	}{
		{key: "rm", value: "true", unknown: true},
		{key: "", value: "x", unknown: true},
		{key: "publish", value: "eighty"},
		{key: "env", value: "NOVALUE"},
		{key: "env", value: "=x"},
		{key: "label", value: "=x"},
		{key: "volume", value: "relative/path"},
		{key: "volume", value: "/a:/b:rx"},
		{key: "volume", value: "/a:/b:ro,rw"},
		{key: "volume", value: ":/b"},
		{key: "volume", value: "/a:/b:ro:x"},
		{key: "cap-add", value: " "},
		{key: "add-host", value: "db"},
		{key: "add-host", value: "db:not-an-ip"},
		{key: "user", value: ""},
		{key: "workdir", value: "app"},
		{key: "log-opt", value: "max-size"},
		{key: "ulimit", value: "nofile"},
		{key: "ulimit", value: "bogus=1"},
		{key: "ulimit", value: "nofile=2048:1024"},
		{key: "ulimit", value: "nofile=x"},
		{key: "ulimit", value: "nofile=1:y"},
		{key: "dns", value: "resolver"},
		{key: "memory-swap", value: "lots"},
		{key: "shm-size", value: "-1"},
		{key: "shm-size", value: "NaN"},
		{key: "shm-size", value: "b"},
		{key: "init", value: "maybe"},
		{key: "read-only", value: "2"},
		{key: "tmpfs", value: "run"},
		{key: "sysctl", value: "x"},
		{key: "device", value: "dev/fuse"},
		{key: "device", value: "/dev/a:/dev/b:rwx"},
		{key: "device", value: "/a:/b:r:w"},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			ps := []Parameter{{Key: "user", Value: "ok"}, {Key: tt.key, Value: tt.value}}
			_, err := ParseDockerParameters(ps)
			var pe *ParameterError
			if !errors.As(err, &pe) {
				t.Fatalf("error = %v, want a *ParameterError", err)
			}
			if pe.Index != 1 || pe.Key != tt.key || pe.Reason == "" {
				t.Errorf("ParameterError = %+v, want index 1, key %q and a reason", pe, tt.key)
			}
			wantErr, wantPath := ErrInvalidParameter, "/container/docker/parameters(1)/value"
			if tt.unknown {
				wantErr, wantPath = ErrUnknownParameter, "/container/docker/parameters(1)/key"
			}
			if !errors.Is(err, wantErr) {
				t.Errorf("error %v is not %v", err, wantErr)
			}
			if pe.Path() != wantPath {
				t.Errorf("Path() = %q, want %q", pe.Path(), wantPath)
			}
			if !strings.Contains(err.Error(), tt.key) {
				t.Errorf("error %q does not name the key %q", err, tt.key)
			}
		})
	}
}

func TestParseDockerParametersEnvValueNotInError(t *testing.T) {
	_, err := ParseDockerParameters([]Parameter{{Key: "env", Value: "s3cr3t"}})
	if err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("error = %v, want one that does not echo the value", err)
	}
}

func TestParameterErrorsListsEveryBadParameter(t *testing.T) {
	_, err := ParseDockerParameters([]Parameter{
		{Key: "nope"}, {Key: "user", Value: "x"}, {Key: "publish", Value: "bad"}, {Key: "also-nope"},
	})
	var got []int
	for _, pe := range ParameterErrors(err) {
		got = append(got, pe.Index)
	}
	if want := []int{0, 2, 3}; !slices.Equal(got, want) {
		t.Fatalf("indexes = %v, want %v", got, want)
	}
	if ParameterErrors(nil) != nil {
		t.Fatal("ParameterErrors(nil) is not empty")
	}
}

func TestParseBytes(t *testing.T) {
	tests := map[string]int64{"1024": 1024, "512b": 512, "1k": 1 << 10, "64m": 64 << 20, "1g": 1 << 30, "1GB": 1 << 30, "1.5g": 3 << 29, "2t": 2 << 40}
	for in, want := range tests {
		got, err := parseBytes(in)
		if err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}

func TestSupportedParameters(t *testing.T) {
	got := SupportedParameters()
	for _, k := range []string{"publish", "env", "label", "volume", "cap-add", "add-host", "user", "workdir", "hostname", "log-driver", "ulimit"} {
		if !slices.Contains(got, k) {
			t.Errorf("SupportedParameters() lacks %q", k)
		}
	}
}

func TestVolumeBindReadOnly(t *testing.T) {
	if !(VolumeBind{Mode: "z,ro"}).ReadOnly() || (VolumeBind{Mode: "rw"}).ReadOnly() || (VolumeBind{}).ReadOnly() {
		t.Fatal("ReadOnly is wrong")
	}
}
