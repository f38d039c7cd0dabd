// Package version is Drover's version, set at build time with
// -ldflags "-X github.com/drover/drover/internal/version.Version=v1.2.3".
package version

import "runtime/debug"

// Version is the release, or "dev".
var Version = "dev"

// Commit is the VCS revision the binary was built from, when Go recorded it.
func Commit() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}
