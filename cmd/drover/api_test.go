package main

import "testing"

func TestAdvertisedAPI(t *testing.T) {
	for _, tt := range []struct{ listen, want string }{
		{":8080", "master1:8080"},
		{"0.0.0.0:8080", "master1:8080"},
		{"[::]:9090", "master1:9090"},
		{"127.0.0.1:8080", "127.0.0.1:8080"},
		{"10.0.0.5:80", "10.0.0.5:80"},
		{"api.example.com:8443", "api.example.com:8443"},
	} {
		if got := advertisedAPI("master1", tt.listen); got != tt.want {
			t.Errorf("listen %q: %q, want %q", tt.listen, got, tt.want)
		}
	}
}

func TestSchedulerAPIAddressFlag(t *testing.T) {
	c, err := parse(t, nil, "scheduler", "--hostname", "m1", "--api-address", "lb.example.com:80")
	if err != nil {
		t.Fatal(err)
	}
	if c.Scheduler.APIAddress != "lb.example.com:80" {
		t.Errorf("--api-address: %q", c.Scheduler.APIAddress)
	}
	c, err = parse(t, map[string]string{"DROVER_API_ADDRESS": "m2:8080"}, "scheduler")
	if err != nil {
		t.Fatal(err)
	}
	if c.Scheduler.APIAddress != "m2:8080" {
		t.Errorf("DROVER_API_ADDRESS: %q", c.Scheduler.APIAddress)
	}
}
