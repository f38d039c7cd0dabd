package marathon

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// ParsePublish parses one value of Docker's -p flag:
// [[ip:][hostPort]:]containerPort[/protocol], where each port may be a range
// a-b and an IPv6 address is written in brackets.
func ParsePublish(v string) (PortPublish, error) {
	p := PortPublish{Protocol: "tcp"}
	spec, proto, hasProto := strings.Cut(v, "/")
	if hasProto {
		switch proto {
		case "tcp", "udp", "sctp":
			p.Protocol = proto
		default:
			return p, fmt.Errorf("unknown protocol %q", proto)
		}
	}
	var ip, host, cont string
	if strings.HasPrefix(spec, "[") { // [ipv6]:host:container
		end := strings.Index(spec, "]:")
		if end < 0 {
			return p, fmt.Errorf("%q: unterminated IPv6 address", v)
		}
		ip = spec[1:end]
		var ok bool
		host, cont, ok = strings.Cut(spec[end+2:], ":")
		if !ok {
			return p, fmt.Errorf("%q is not [IP:][HOST:]CONTAINER", v)
		}
	} else {
		parts := strings.Split(spec, ":")
		switch len(parts) {
		case 1:
			cont = parts[0]
		case 2:
			host, cont = parts[0], parts[1]
		case 3:
			ip, host, cont = parts[0], parts[1], parts[2]
		default:
			return p, fmt.Errorf("%q is not [IP:][HOST:]CONTAINER (write IPv6 in brackets)", v)
		}
	}
	if ip != "" && net.ParseIP(ip) == nil {
		return p, fmt.Errorf("%q is not an IP address", ip)
	}
	p.HostIP = ip
	var err error
	if p.ContainerPort, p.ContainerPortEnd, err = parsePortRange(cont, false); err != nil {
		return p, fmt.Errorf("container port: %w", err)
	}
	if p.HostPort, p.HostPortEnd, err = parsePortRange(host, true); err != nil {
		return p, fmt.Errorf("host port: %w", err)
	}
	contN, hostN := p.ContainerPortEnd-p.ContainerPort, p.HostPortEnd-p.HostPort
	if p.HostPort != 0 && contN > 0 && hostN != contN {
		return p, fmt.Errorf("host range %s and container range %s differ in size", host, cont)
	}
	return p, nil
}

// parsePortRange parses "p" or "a-b"; with optional, "" is 0, 0.
func parsePortRange(s string, optional bool) (int, int, error) {
	if s == "" {
		if optional {
			return 0, 0, nil
		}
		return 0, 0, errors.New("missing")
	}
	a, b, isRange := strings.Cut(s, "-")
	lo, err := parsePort(a)
	if err != nil {
		return 0, 0, err
	}
	hi := lo
	if isRange {
		if hi, err = parsePort(b); err != nil {
			return 0, 0, err
		}
		if hi < lo {
			return 0, 0, fmt.Errorf("range %q ends before it starts", s)
		}
	}
	return lo, hi, nil
}

func parsePort(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("%q is not a port from 1 to 65535", s)
	}
	return n, nil
}

func appendPublish(o *DockerOptions, v string) error {
	p, err := ParsePublish(v)
	if err != nil {
		return err
	}
	o.Publish = append(o.Publish, p)
	return nil
}
