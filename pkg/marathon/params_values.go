package marathon

import (
	"errors"
	"fmt"
	"net"
	"path"
	"strconv"
	"strings"
)

// The parsers of docker parameter values, one per kind of value: each
// checks a value as Docker's CLI would and stores it into DockerOptions.

func appendWord(dst *[]string, v string) error {
	if err := setWord(new(string), v); err != nil {
		return err
	}
	*dst = append(*dst, v)
	return nil
}

func setWord(dst *string, v string) error {
	if strings.TrimSpace(v) == "" {
		return errors.New("value is empty")
	}
	*dst = v
	return nil
}

func setAbs(dst *string, v string) error {
	if !path.IsAbs(v) {
		return fmt.Errorf("%q is not an absolute path", v)
	}
	*dst = v
	return nil
}

func appendEnv(o *DockerOptions, v string) error {
	k, _, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return errors.New("env must be KEY=VALUE") // never echo a value: it may be a secret
	}
	o.Env = append(o.Env, v)
	return nil
}

// putKV stores k=v into *m; with bare, "k" alone stores an empty value.
func putKV(m *map[string]string, v string, bare bool) error {
	k, val, ok := strings.Cut(v, "=")
	if k == "" || (!ok && !bare) {
		return fmt.Errorf("%q is not KEY=VALUE", v)
	}
	if *m == nil {
		*m = map[string]string{}
	}
	(*m)[k] = val
	return nil
}

func appendHost(o *DockerOptions, v string) error {
	// host:ip, or host=ip as newer Docker CLIs also accept; the IP may be IPv6.
	host, ip, ok := strings.Cut(v, "=")
	if !ok {
		host, ip, ok = strings.Cut(v, ":")
	}
	if !ok || host == "" {
		return fmt.Errorf("%q is not HOST:IP", v)
	}
	if ip != "host-gateway" && net.ParseIP(strings.Trim(ip, "[]")) == nil {
		return fmt.Errorf("%q is not an IP address", ip)
	}
	o.ExtraHosts = append(o.ExtraHosts, host+":"+ip)
	return nil
}

func appendIP(dst *[]string, v string) error {
	if net.ParseIP(v) == nil {
		return fmt.Errorf("%q is not an IP address", v)
	}
	*dst = append(*dst, v)
	return nil
}

var volumeModes = map[string]bool{
	"ro": true, "rw": true, "z": true, "Z": true, "nocopy": true,
	"shared": true, "rshared": true, "slave": true, "rslave": true, "private": true, "rprivate": true,
}

func appendVolume(o *DockerOptions, v string) error {
	parts := strings.Split(v, ":")
	var b VolumeBind
	switch len(parts) {
	case 1:
		b.Target = parts[0]
	case 2:
		b.Source, b.Target = parts[0], parts[1]
	case 3:
		b.Source, b.Target, b.Mode = parts[0], parts[1], parts[2]
	default:
		return fmt.Errorf("%q is not [SOURCE:]TARGET[:MODE]", v)
	}
	if len(parts) > 1 && b.Source == "" {
		return fmt.Errorf("%q has an empty source", v)
	}
	if !path.IsAbs(b.Target) {
		return fmt.Errorf("target %q is not an absolute path", b.Target)
	}
	if b.Mode != "" {
		ro, rw := false, false
		for _, m := range strings.Split(b.Mode, ",") {
			if !volumeModes[m] {
				return fmt.Errorf("unknown volume mode %q", m)
			}
			ro, rw = ro || m == "ro", rw || m == "rw"
		}
		if ro && rw {
			return errors.New("volume mode is both ro and rw")
		}
	}
	o.Volumes = append(o.Volumes, b)
	return nil
}

var ulimitNames = map[string]bool{
	"core": true, "cpu": true, "data": true, "fsize": true, "locks": true, "memlock": true,
	"msgqueue": true, "nice": true, "nofile": true, "nproc": true, "rss": true, "rtprio": true,
	"rttime": true, "sigpending": true, "stack": true,
}

func appendUlimit(o *DockerOptions, v string) error {
	name, limits, ok := strings.Cut(v, "=")
	if !ok || !ulimitNames[name] {
		return fmt.Errorf("%q is not NAME=SOFT[:HARD] with a known ulimit name", v)
	}
	softS, hardS, both := strings.Cut(limits, ":")
	soft, err := strconv.ParseInt(softS, 10, 64)
	if err != nil || soft < -1 {
		return fmt.Errorf("bad soft limit %q", softS)
	}
	hard := soft
	if both {
		if hard, err = strconv.ParseInt(hardS, 10, 64); err != nil || hard < -1 {
			return fmt.Errorf("bad hard limit %q", hardS)
		}
	}
	if soft != -1 && hard != -1 && soft > hard {
		return fmt.Errorf("soft limit %d exceeds hard limit %d", soft, hard)
	}
	o.Ulimits = append(o.Ulimits, Ulimit{Name: name, Soft: soft, Hard: hard})
	return nil
}

// setBytes parses a size as Docker does: a number with an optional unit
// b, k, m, g, t (powers of 1024), optionally followed by "b".
func setBytes(dst **int64, v string, allowUnlimited bool) error {
	if allowUnlimited && v == "-1" {
		n := int64(-1)
		*dst = &n
		return nil
	}
	n, err := parseBytes(v)
	if err != nil {
		return err
	}
	*dst = &n
	return nil
}

func parseBytes(v string) (int64, error) {
	s := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(v)), "b")
	mult := 1.0
	if n := len(s); n > 0 {
		if i := strings.IndexByte("kmgt", s[n-1]); i >= 0 {
			mult, s = float64(int64(1)<<(10*(i+1))), s[:n-1]
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if s == "" || strings.Trim(s, "0123456789.") != "" || err != nil || f <= 0 || f*mult > 1<<62 {
		return 0, fmt.Errorf("%q is not a size such as 512m or 1g", v)
	}
	return int64(f * mult), nil
}

func setBool(dst *bool, v string) error {
	if v == "" {
		*dst = true
		return nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return fmt.Errorf("%q is not true or false", v)
	}
	*dst = b
	return nil
}

func setBoolPtr(dst **bool, v string) error {
	var b bool
	if err := setBool(&b, v); err != nil {
		return err
	}
	*dst = &b
	return nil
}

func putTmpfs(o *DockerOptions, v string) error {
	p, opts, _ := strings.Cut(v, ":")
	if !path.IsAbs(p) {
		return fmt.Errorf("tmpfs path %q is not absolute", p)
	}
	if o.Tmpfs == nil {
		o.Tmpfs = map[string]string{}
	}
	o.Tmpfs[p] = opts
	return nil
}

func validDevicePerms(s string) bool {
	if s == "" || len(s) > 3 {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("rwm", r) {
			return false
		}
	}
	return true
}

func appendDevice(o *DockerOptions, v string) error {
	parts := strings.Split(v, ":")
	d := Device{PathOnHost: parts[0], Permissions: "rwm"}
	switch len(parts) {
	case 1:
	case 2:
		if validDevicePerms(parts[1]) {
			d.Permissions = parts[1]
		} else {
			d.PathInContainer = parts[1]
		}
	case 3:
		d.PathInContainer, d.Permissions = parts[1], parts[2]
	default:
		return fmt.Errorf("%q is not HOST[:CONTAINER][:PERMISSIONS]", v)
	}
	if d.PathInContainer == "" {
		d.PathInContainer = d.PathOnHost
	}
	if !path.IsAbs(d.PathOnHost) || !path.IsAbs(d.PathInContainer) {
		return fmt.Errorf("device paths in %q must be absolute", v)
	}
	if !validDevicePerms(d.Permissions) {
		return fmt.Errorf("device permissions %q are not some of rwm", d.Permissions)
	}
	o.Devices = append(o.Devices, d)
	return nil
}
