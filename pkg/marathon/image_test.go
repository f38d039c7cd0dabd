package marathon

import (
	"regexp"
	"strings"
	"testing"
)

func TestImageAllowed(t *testing.T) {
	for _, tc := range []struct {
		image    string
		patterns []string
		want     bool
	}{
		{"anything/at:all", nil, true},
		{"httpd", []string{"httpd"}, true},
		{"httpd", []string{"httpd:*"}, true}, // as httpd:latest
		{"httpd:2.4", []string{"httpd:*"}, true},
		{"httpd", []string{"docker.io/library/*"}, true},
		{"nginx:1.27", []string{"docker.io/library/httpd*"}, false},
		{"registry.example.com/team/web:1.2", []string{"registry.example.com/*"}, true},
		{"registry.example.com/web@sha256:" + strings.Repeat("a", 64), []string{"registry.example.com/*"}, true},
		{"registry.example.com.evil.io/web", []string{"registry.example.com/*"}, false},
		{"evil.io/registry.example.com/web", []string{"registry.example.com/*"}, false},
		{"team/web", []string{"registry.example.com/*", "docker.io/team/*"}, true},
		{"team/web", []string{"registry.example.com/*"}, false},
		{"Invalid Image!", []string{"*"}, false},
		{"", []string{"*"}, false},
		{"a:1", []string{"?:1"}, true},
	} {
		if got := ImageAllowed(tc.image, tc.patterns); got != tc.want {
			t.Errorf("ImageAllowed(%q, %q) = %v, want %v", tc.image, tc.patterns, got, tc.want)
		}
	}
}

// glob agrees with the equivalent regular expression.
func FuzzGlob(f *testing.F) {
	for _, s := range [][2]string{{"registry.example.com/*", "registry.example.com/a/b:1"}, {"*a*b?", "xxaybz"}, {"**", ""}, {"a*", "b"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if len(pattern) > 64 || len(s) > 256 {
			return
		}
		var re strings.Builder
		re.WriteString(`^(?s:`)
		for _, c := range []byte(pattern) {
			switch c {
			case '*':
				re.WriteString(`.*`)
			case '?':
				re.WriteString(`.`)
			default:
				re.WriteString(regexp.QuoteMeta(string(c)))
			}
		}
		re.WriteString(`)$`)
		rx, err := regexp.Compile(re.String())
		if err != nil {
			t.Skip()
		}
		// The regexp works on runes, glob on bytes: compare on ASCII.
		for _, c := range []byte(pattern + s) {
			if c >= 0x80 {
				return
			}
		}
		if got, want := glob(pattern, s), rx.MatchString(s); got != want {
			t.Fatalf("glob(%q, %q) = %v, regexp says %v", pattern, s, got, want)
		}
	})
}
