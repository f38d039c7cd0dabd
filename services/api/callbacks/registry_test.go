package callbacks

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateURL(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"http://hooks.example.com:9090/callback", true},
		{"https://10.0.0.7/cb?x=1", true},
		{"http://[::1]:8080/", true},
		{"", false},
		{"hooks.example.com/callback", false},
		{"/callback", false},
		{"ftp://hooks.example.com/", false},
		{"http://", false},
		{"http://:80/", false},
		{"http://exa mple.com/", false},
		{"http://example.com/" + strings.Repeat("a", MaxURLLength), false},
	} {
		err := ValidateURL(tc.url)
		var invalid *InvalidError
		if (err == nil) != tc.ok || err != nil && (!errors.As(err, &invalid) || invalid.Reason == "") {
			t.Errorf("%q: %v, want ok %v with a reason", tc.url, err, tc.ok)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default: %v", err)
	}
	bad := DefaultConfig()
	bad.Timeout, bad.QueueLen, bad.Retries = 0, 0, -1
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "timeout") || !strings.Contains(err.Error(), "queue") {
		t.Errorf("bad config: %v", err)
	}
}
