package marathon

import (
	"encoding/json"
	"fmt"
	"strings"
)

// FetchURI is one artifact a task's sandbox gets before its command starts
// (Marathon's fetch[], or the older uris[]), as Mesos' fetcher reads it.
type FetchURI struct {
	URI string `json:"uri"`
	// Extract unpacks an archive (.tar, .tar.gz, .tgz, .tar.bz2, .tar.xz,
	// .txz, .zip, .gz) into the sandbox; Marathon's default is true.
	Extract bool `json:"extract"`
	// Executable makes the file executable (chmod +x); it is then never extracted.
	Executable bool `json:"executable"`
	// Cache lets a runtime reuse an earlier download of the URI.
	Cache bool `json:"cache"`
	// OutputFile names the file in the sandbox; "" is the URI's last path element.
	OutputFile string `json:"outputFile,omitempty"`
}

// HostCommand reports whether the spec runs on the host, without a
// container image: Marathon's command tasks (a cmd or args and no
// container, or a MESOS container without an image), which Mesos'
// command executor runs in a sandbox directory.
func (s TaskSpec) HostCommand() bool { return s.Image == "" && len(s.Command) > 0 }

// hostCommandOf is HostAccess.HostCommand: the app has a command and no image.
func hostCommandOf(app App) bool {
	return ImageOf(app) == "" && ((app.Cmd != nil && strings.TrimSpace(*app.Cmd) != "") || len(app.Args) > 0)
}

// taskUser is the app's user, "" when it names none.
func taskUser(app App) string {
	if app.User == nil {
		return ""
	}
	return strings.TrimSpace(*app.User)
}

// taskFetch reads the app's fetch list, or its uris (extracted, as Marathon
// fetches them). A fetch entry that cannot be read is an error; validation
// refuses such apps already.
func taskFetch(app App) ([]FetchURI, error) {
	var out []FetchURI
	for _, u := range app.URIs {
		out = append(out, FetchURI{URI: u, Extract: true})
	}
	for i, raw := range app.Fetch {
		f := FetchURI{Extract: true}
		if err := json.Unmarshal(raw, &f); err != nil {
			return out, fmt.Errorf("fetch %d: %w", i, err)
		}
		if strings.TrimSpace(f.URI) == "" {
			return out, fmt.Errorf("fetch %d: no uri", i)
		}
		out = append(out, f)
	}
	return out, nil
}
