package events

import (
	"errors"
	"testing"
	"time"
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
