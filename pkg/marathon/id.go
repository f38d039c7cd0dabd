package marathon

import (
	"fmt"
	"regexp"
	"strings"
)

// idSegmentPattern is Marathon's rule for one segment of an app or group id.
// A segment may also be "." or "..", resolved by NormalizeID.
const idSegmentPattern = `^(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])|(\.|\.\.)$`

// idSegment matches a whole segment. Marathon compiles the pattern above in
// Java and asks for a full match, so the alternation is wrapped here.
var idSegment = regexp.MustCompile(`^(?:` + idSegmentPattern + `)$`)

// reservedIDSegments may not end an app id: they are sub-resources of /v2/apps/{id}.
var reservedIDSegments = []string{"restart", "tasks", "versions"}

// Marathon's messages for an invalid id, as it reports them under "/id".
var (
	msgIDPattern  = fmt.Sprintf("must fully match regular expression '%s'", idSegmentPattern)
	msgIDReserved = "must not end with any of the following reserved keywords: " + strings.Join(reservedIDSegments, ", ")
	msgIDEmpty    = "Path must contain at least one path element"
	msgIDRelative = "Path needs to be absolute"
)

// IDError is an app id that NormalizeID refuses. Reason is Marathon's message.
type IDError struct {
	ID     string
	Reason string
}

func (e *IDError) Error() string { return fmt.Sprintf("marathon: invalid id %q: %s", e.ID, e.Reason) }

// NormalizeID resolves an app id the way Marathon does: segments are
// separated by '/', empty segments are dropped, a relative id is resolved
// against base (an absolute id such as "/" or "/group"), "." and ".." are
// resolved (".." above the root stays at the root), and the result is
// absolute. "test-docker" and "/test-docker" both give "/test-docker".
// Every segment must match Marathon's pattern, the result must not be the
// root nor longer than MaxIDLength, and its last segment must not be "restart", "tasks" or "versions".
func NormalizeID(id, base string) (string, error) {
	segs, absolute := splitID(id)
	for _, s := range segs {
		if !idSegment.MatchString(s) {
			return "", &IDError{ID: id, Reason: msgIDPattern}
		}
	}
	var path []string
	if !absolute {
		baseSegs, baseAbs := splitID(base)
		if !baseAbs {
			return "", &IDError{ID: base, Reason: msgIDRelative}
		}
		path = resolveSegments(nil, baseSegs)
	}
	path = resolveSegments(path, segs)
	if len(path) == 0 {
		return "", &IDError{ID: id, Reason: msgIDEmpty}
	}
	norm := "/" + strings.Join(path, "/")
	if len(norm) > MaxIDLength {
		return "", &IDError{ID: id, Reason: msgIDTooLong}
	}
	for _, r := range reservedIDSegments {
		if path[len(path)-1] == r {
			return "", &IDError{ID: id, Reason: msgIDReserved}
		}
	}
	return norm, nil
}

// ParentID is the id of the group holding an app: "/a/b" -> "/a", "/a" -> "/".
func ParentID(id string) string {
	segs, _ := splitID(id)
	if len(segs) <= 1 {
		return "/"
	}
	return "/" + strings.Join(segs[:len(segs)-1], "/")
}

// splitID splits an id into its non-empty segments and says whether it is absolute.
func splitID(id string) ([]string, bool) {
	var segs []string
	for s := range strings.SplitSeq(id, "/") {
		if s != "" {
			segs = append(segs, s)
		}
	}
	return segs, strings.HasPrefix(id, "/")
}

// resolveSegments appends segs to path, resolving "." and "..".
func resolveSegments(path, segs []string) []string {
	for _, s := range segs {
		switch s {
		case ".":
		case "..":
			if len(path) > 0 {
				path = path[:len(path)-1]
			}
		default:
			path = append(path, s)
		}
	}
	return path
}
