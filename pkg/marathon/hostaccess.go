package marathon

import (
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// HostAccess is what an app asks of the host it runs on that an agent's
// policy may refuse. The agent (at launch) and the scheduler (placement)
// both read it from here, so they never disagree.
type HostAccess struct {
	// Image is the Docker image, "" without one.
	Image string
	// Privileged is set by "privileged": true, or by docker parameters that
	// amount to it (PrivilegedBy says which).
	Privileged   bool
	PrivilegedBy string
	// HostPaths are the host paths a container reaches, cleaned: the
	// volumes' hostPath, the absolute sources of "volume" parameters, and
	// the files its fetch (or uris) names by file URI, which its agent
	// reads into its sandbox (a host command's fetch reads them as the
	// task's user: they are not counted).
	HostPaths []string
	// HostCommand: the app runs a command on the host itself, with no
	// container image (a Marathon command app), which an agent runs only
	// when its policy allows host commands.
	HostCommand bool
}

// defaultCaps are the capabilities Docker grants every container: adding
// one of them changes nothing.
var defaultCaps = map[string]bool{
	"CHOWN": true, "DAC_OVERRIDE": true, "FSETID": true, "FOWNER": true, "MKNOD": true, "NET_RAW": true,
	"SETGID": true, "SETUID": true, "SETFCAP": true, "SETPCAP": true, "NET_BIND_SERVICE": true,
	"SYS_CHROOT": true, "KILL": true, "AUDIT_WRITE": true,
}

// HostAccessOf reads what app asks of its host. Malformed parameters are
// ignored here: validation refuses them. It is ResolveTask's Access.
func HostAccessOf(app App) HostAccess {
	var opts DockerOptions
	if app.Container != nil && app.Container.Docker != nil {
		opts, _ = ParseDockerParameters(app.Container.Docker.Parameters)
	}
	return hostAccessOf(app, opts)
}

// hostAccessOf is HostAccessOf with the app's docker parameters parsed.
func hostAccessOf(app App, opts DockerOptions) (ha HostAccess) {
	ha = HostAccess{Image: ImageOf(app), HostCommand: hostCommandOf(app)}
	defer func() { // whichever way it returns
		if ha.Image != "" {
			ha.HostPaths = append(ha.HostPaths, fetchHostPaths(app)...)
		}
	}()
	c := app.Container
	if c == nil {
		return ha
	}
	for _, v := range c.Volumes {
		if v.HostPath != "" {
			ha.HostPaths = append(ha.HostPaths, path.Clean(v.HostPath))
		}
	}
	if c.Docker == nil {
		return ha
	}
	if c.Docker.Privileged {
		ha.Privileged, ha.PrivilegedBy = true, `"privileged": true`
	}
	for _, v := range opts.Volumes {
		if path.IsAbs(v.Source) {
			ha.HostPaths = append(ha.HostPaths, path.Clean(v.Source))
		}
	}
	if ha.Privileged {
		return ha
	}
	if by := privilegedParameter(opts); by != "" {
		ha.Privileged, ha.PrivilegedBy = true, by
	}
	return ha
}

// fetchHostPaths are the host files an app's fetch (or uris) names by
// file URI (file:///path, or a bare absolute path), cleaned, as the
// fetcher reads them.
func fetchHostPaths(app App) []string {
	uris, _ := taskFetch(app) // validation refuses what cannot be read
	var out []string
	for _, f := range uris {
		u, err := url.Parse(strings.TrimSpace(f.URI))
		if err != nil || (u.Scheme != "file" && u.Scheme != "") || !path.IsAbs(u.Path) {
			continue
		}
		out = append(out, path.Clean(u.Path))
	}
	return out
}

// privilegedParameter names the first parameter that gives a container
// more than Docker's default confinement: a capability beyond the default
// set, a host device, or a security option that turns confinement off.
func privilegedParameter(o DockerOptions) string {
	for _, c := range o.CapAdd {
		name := strings.TrimPrefix(strings.ToUpper(c), "CAP_")
		if !defaultCaps[name] {
			return "parameter cap-add=" + c
		}
	}
	if len(o.Devices) > 0 {
		return "parameter device=" + o.Devices[0].PathOnHost
	}
	for _, s := range o.SecurityOpt {
		if !ConfiningSecurityOpt(s) {
			return "parameter security-opt=" + s
		}
	}
	return ""
}

// ConfiningSecurityOpt reports whether a security-opt value is on the
// allow-list of those that cannot loosen Docker's default confinement:
// no-new-privileges, alone or true (no-new-privileges:true, =true; any
// form strconv.ParseBool reads as true, as Docker does). Every other is
// privileged, whatever it says, because it may loosen it: a seccomp
// profile (inline JSON with "defaultAction": "SCMP_ACT_ALLOW", or a file),
// an AppArmor profile other than the default one, an SELinux label (a type
// such as spc_t is unconfined; a level reaches other containers' files),
// systempaths=unconfined, no-new-privileges false.
func ConfiningSecurityOpt(s string) bool {
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		k, v, ok = strings.Cut(s, ":")
	}
	if k != "no-new-privileges" {
		return false
	}
	if !ok {
		return true
	}
	b, err := strconv.ParseBool(v)
	return err == nil && b
}

// UnderPrefix reports whether the host path p is one of the prefixes or
// inside one of them, compared cleaned ("/srv/../etc" is "/etc"). No
// prefixes allows every path.
func UnderPrefix(p string, prefixes []string) bool {
	if len(prefixes) == 0 {
		return true
	}
	p = path.Clean(p)
	for _, pre := range prefixes {
		pre = path.Clean(pre)
		if p == pre || pre == "/" || strings.HasPrefix(p, pre+"/") {
			return true
		}
	}
	return false
}

// HostCommandViolation says why an agent must not run the app's command on
// the host, or "" when it may: it runs no host command, or the agent allows them.
func (ha HostAccess) HostCommandViolation(allowHostCommands bool) string {
	if ha.HostCommand && !allowHostCommands {
		return "host commands (apps without a container image) are not allowed on this agent (--allow-host-commands)"
	}
	return ""
}

// PolicyViolation says why a host with the given policy must not run an
// app with this access, or "" when it may: privileged wanted but not
// allowed, a host path outside the allowed prefixes, an image matching no
// allowed pattern.
func (ha HostAccess) PolicyViolation(allowPrivileged bool, hostPathPrefixes, imagePatterns []string) string {
	if ha.Privileged && !allowPrivileged {
		return "privileged containers are not allowed (" + ha.PrivilegedBy + ")"
	}
	for _, hp := range ha.HostPaths {
		if !UnderPrefix(hp, hostPathPrefixes) {
			return fmt.Sprintf("host path %q is outside %s", hp, strings.Join(hostPathPrefixes, ", "))
		}
	}
	if ha.Image != "" && !ImageAllowed(ha.Image, imagePatterns) {
		return fmt.Sprintf("image %q matches none of %s", ha.Image, strings.Join(imagePatterns, ", "))
	}
	return ""
}
