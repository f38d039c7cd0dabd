package events

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/drover/drover/pkg/marathon"
)

func TestCodecRoundTrip(t *testing.T) {
	in := Command{V: Version, ID: "c1", Epoch: 7, Kind: CommandKill, TaskID: "web.instance-1._app.1", AppID: "/web", IssuedAt: time.Unix(1, 0).UTC()}
	data, err := Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Decode[Command](data)
	if err != nil {
		t.Fatal(err)
	}
	if out.ID != in.ID || out.Epoch != in.Epoch || out.Kind != in.Kind || !out.IssuedAt.Equal(in.IssuedAt) {
		t.Errorf("round trip = %+v, want %+v", out, in)
	}
}

func TestDecodeRefusesBadInput(t *testing.T) {
	for _, tt := range []struct {
		data string
		want error
	}{
		{`not json`, ErrMalformed},
		{`{"v":1,"epoch":"seven"}`, ErrMalformed},
		{`{"v":2,"id":"c1"}`, ErrVersion},
		{`{"id":"c1"}`, ErrVersion},
		{`null`, ErrVersion},
	} {
		if _, err := Decode[Command]([]byte(tt.data)); !errors.Is(err, tt.want) {
			t.Errorf("Decode(%s) err = %v, want %v", tt.data, err, tt.want)
		}
	}
}

func TestTerminalStates(t *testing.T) {
	for _, s := range []TaskState{TaskStaging, TaskStarting, TaskRunning, TaskKilling, TaskUnreachable} {
		if s.Terminal() {
			t.Errorf("%s is not terminal", s)
		}
	}
	for _, s := range []TaskState{TaskFinished, TaskFailed, TaskKilled, TaskError, TaskLost, TaskDropped, TaskGone, TaskUnknown} {
		if !s.Terminal() {
			t.Errorf("%s is terminal", s)
		}
	}
}

// EncodeLaunch writes the message Encode writes, whatever the launch holds.
func TestEncodeLaunchIsEncode(t *testing.T) {
	var app marathon.App
	if err := json.Unmarshal([]byte(`{"id":"/web","cmd":"httpd -f","instances":3,"cpus":0.1,"mem":32,
		"env":{"A":"1","DB":{"secret":"db"}},"labels":{"HAPROXY_GROUP":"external"},
		"container":{"type":"DOCKER","docker":{"image":"httpd"},"portMappings":[{"containerPort":80,"hostPort":0}]},
		"healthChecks":[{"protocol":"HTTP","path":"/"}],"fetch":[{"uri":"http://x/y"}],"ipAddress":{"networkName":"n"},
		"version":"2026-12-03T10:00:00.000Z"}`), &app); err != nil {
		t.Fatal(err)
	}
	appJSON, err := json.Marshal(app)
	if err != nil {
		t.Fatal(err)
	}
	for _, launch := range []LaunchSpec{
		{App: app},
		{App: app, HostPorts: []int{31000, 31001}},
		{App: app, HostPorts: []int{31000}, Env: map[string]string{"PORT0": "31000"}},
	} {
		cmd := Command{V: Version, ID: "c1", Epoch: 7, Kind: CommandLaunch, TaskID: "web.instance-1._app.1", AppID: "/web",
			Launch: &launch, IssuedAt: time.Unix(1, 0).UTC()}
		whole, err := Encode(cmd)
		if err != nil {
			t.Fatal(err)
		}
		withoutApp := launch
		withoutApp.App = marathon.App{ID: "/not-read"}
		cmd.Launch = &withoutApp
		spliced, err := EncodeLaunch(cmd, appJSON)
		if err != nil {
			t.Fatal(err)
		}
		var a, b any
		if err := json.Unmarshal(whole, &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(spliced, &b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("EncodeLaunch wrote\n%s\nEncode\n%s", spliced, whole)
		}
		if _, err := Decode[Command](spliced); err != nil {
			t.Errorf("Decode(EncodeLaunch(...)): %v", err)
		}
	}
	if _, err := EncodeLaunch(Command{V: Version, ID: "c1", Kind: CommandKill}, appJSON); err == nil {
		t.Error("EncodeLaunch of a command without a launch: no error")
	}
}
