package marathon

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestParseReadinessChecks(t *testing.T) {
	raw := []json.RawMessage{
		json.RawMessage(`{"portName":"api"}`),
		json.RawMessage(`{"name":"r","protocol":"HTTPS","path":"/ready","portName":"web","intervalSeconds":2,
			"timeoutSeconds":1,"httpStatusCodesForReady":[200,204],"preserveLastResponse":true}`),
	}
	got, err := ParseReadinessChecks(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := []ReadinessCheck{
		{Name: "readinessCheck", Protocol: "HTTP", Path: "/", PortName: "api", IntervalSeconds: 30, TimeoutSeconds: 10,
			HTTPStatusCodesForReady: []int{200}},
		{Name: "r", Protocol: "HTTPS", Path: "/ready", PortName: "web", IntervalSeconds: 2, TimeoutSeconds: 1,
			HTTPStatusCodesForReady: []int{200, 204}, PreserveLastResponse: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if none, err := ParseReadinessChecks(nil); none != nil || err != nil {
		t.Fatalf("no checks: %v, %v", none, err)
	}
	if _, err := ParseReadinessChecks([]json.RawMessage{json.RawMessage(`"ready"`)}); err == nil {
		t.Fatal("a string parsed as a readiness check")
	}
}

func TestHealthCheckCommandValue(t *testing.T) {
	for raw, want := range map[string]string{`{"value":"curl -f localhost"}`: "curl -f localhost", "": "", "null": "", `"x"`: ""} {
		if got := (HealthCheck{Command: json.RawMessage(raw)}).CommandValue(); got != want {
			t.Errorf("CommandValue(%s) = %q, want %q", raw, got, want)
		}
	}
}
