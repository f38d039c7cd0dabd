package ctxutil

import (
	"context"
	"testing"
	"time"
)

func TestSleep(t *testing.T) {
	if !Sleep(context.Background(), time.Millisecond) {
		t.Error("a live context's sleep said ended")
	}
	if !Sleep(context.Background(), 0) {
		t.Error("a zero sleep of a live context said ended")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	began := time.Now()
	if Sleep(ctx, time.Hour) {
		t.Error("an ended context's sleep said live")
	}
	if time.Since(began) > time.Second {
		t.Error("an ended context's sleep waited")
	}
	if Sleep(ctx, 0) {
		t.Error("an ended context's zero sleep said live")
	}
}
