package marathon

import (
	"strings"

	"github.com/distribution/reference"
)

// ImageAllowed reports whether a Docker image reference matches one of the
// patterns; with no patterns every image is allowed. A pattern is a glob in
// which '*' matches any run of characters, '/' and ':' included, and '?'
// any one character; it must match the whole reference, either as written
// in the app ("httpd", "registry.example.com/team/web:1.2"), with its
// implied tag ("httpd:latest"), or in Docker's normalised form
// ("docker.io/library/httpd:latest"). So
// "registry.example.com/*" allows every image of that registry, and
// "docker.io/library/*" every official image of Docker Hub. An image that is
// not a valid reference matches nothing.
//
// The agent (its policy check at launch) and the scheduler (placement) both
// decide with this function, so they never disagree.
func ImageAllowed(image string, patterns []string) bool {
	if len(patterns) == 0 {
		return true
	}
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return false
	}
	tagged := reference.TagNameOnly(named)
	full, familiar := tagged.String(), reference.FamiliarString(tagged)
	for _, p := range patterns {
		if glob(p, image) || glob(p, familiar) || glob(p, full) {
			return true
		}
	}
	return false
}

// ImageOf is the Docker image an app runs; "" when it has none.
func ImageOf(a App) string {
	if a.Container == nil || a.Container.Docker == nil {
		return ""
	}
	return strings.TrimSpace(a.Container.Docker.Image)
}

// glob matches s against a pattern of '*' (any run) and '?' (any one
// character), iteratively: linear in practice, never exponential.
func glob(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
