package main

import (
	"io"
	"log/slog"
	"strings"
	"testing"
)

func TestLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "127.1.2.3:80": true, "[::1]:8080": true, "localhost:8080": true, "LOCALHOST:1": true,
		":8080": false, "0.0.0.0:8080": false, "[::]:8080": false, "10.0.0.1:8080": false, "myhost:8080": false, "8080": false,
	} {
		if got := loopback(addr); got != want {
			t.Errorf("loopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

func TestCheckExposure(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := checkExposure(quiet, "the API", "127.0.0.1:8080", false, false, "fix"); err != nil {
		t.Errorf("loopback without auth refused: %v", err)
	}
	if err := checkExposure(quiet, "the API", ":8080", true, false, "fix"); err != nil {
		t.Errorf("exposed with auth refused: %v", err)
	}
	err := checkExposure(quiet, "the API", ":8080", false, false, "give --auth-file")
	if err == nil || !strings.Contains(err.Error(), "give --auth-file") || !strings.Contains(err.Error(), "--insecure-no-auth") {
		t.Errorf("exposed without auth: %v", err)
	}
	var logs strings.Builder
	loud := slog.New(slog.NewTextHandler(&logs, nil))
	if err := checkExposure(loud, "NATS", "0.0.0.0:4222", false, true, "fix"); err != nil {
		t.Errorf("--insecure-no-auth refused: %v", err)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "NO AUTHENTICATION") {
		t.Errorf("no loud warning: %s", logs.String())
	}
}
