package marathon

import (
	"fmt"
	"slices"
)

// Marathon's defaults for --local_port_min and --local_port_max: the range
// service ports are assigned from, both ends included.
const (
	DefaultLocalPortMin = 10000
	DefaultLocalPortMax = 20000
)

// PortRange is the range dynamic service ports are assigned from, both
// ends included (Marathon's --local_port_min and --local_port_max).
type PortRange struct{ Min, Max int }

// DefaultPortRange is Marathon's: 10000 to 20000.
func DefaultPortRange() PortRange {
	return PortRange{Min: DefaultLocalPortMin, Max: DefaultLocalPortMax}
}

// Validate refuses a range that is empty, reversed or off the port numbers.
func (r PortRange) Validate() error {
	if r.Min < 1 || r.Max > 65535 || r.Min >= r.Max {
		return fmt.Errorf("local port range [%d-%d]: want 1 <= min < max <= 65535", r.Min, r.Max)
	}
	return nil
}

// Contains reports whether p is in the range.
func (r PortRange) Contains(p int) bool { return p >= r.Min && p <= r.Max }

// PortRangeExhaustedError is a change that needs more dynamic service
// ports than the range has free. Nothing of the change is written.
type PortRangeExhaustedError struct{ Min, Max int }

func (e *PortRangeExhaustedError) Error() string {
	// Marathon's words, with the range's end shown as included (it is).
	return fmt.Sprintf("All ports in the range [%d-%d] are already in use", e.Min, e.Max)
}

// ServicePorts are the app's service ports: its port mappings' on a
// container network, else its port definitions'. 0 asks for one to be
// assigned (AssignServicePorts).
func (a *App) ServicePorts() []int {
	var out []int
	for _, p := range a.servicePortRefs() {
		out = append(out, *p)
	}
	return out
}

// servicePortRefs points at the fields holding the app's service ports.
func (a *App) servicePortRefs() []*int {
	var out []*int
	if a.NetworkMode() != NetworkModeHost {
		pms := a.PortMappingList()
		for i := range pms {
			out = append(out, &pms[i].ServicePort)
		}
		return out
	}
	for i := range a.PortDefinitions {
		out = append(out, &a.PortDefinitions[i].Port)
	}
	return out
}

// HasDynamicServicePorts reports whether a service port of the app is 0.
func (a *App) HasDynamicServicePorts() bool { return slices.Contains(a.ServicePorts(), 0) }

// ServicePortAssigner hands out the service ports of one change, as
// Marathon's AssignDynamicServiceLogic does for a deployment: a port is
// never handed out twice, nor one that any app had before the change or
// has after it.
type ServicePortAssigner struct {
	Range PortRange
	// Used lists the service ports in use: every app's before the change,
	// and every changed app's after it. Called once, when a free port is
	// first needed.
	Used func() []int

	used map[int]bool
	next int // the lowest port of the range that may be free
}

// Assign gives each 0 service port of next a port, and returns the new
// definition (next is left alone) and the ports it took from the free
// ones. Marathon's rules: the ports prev had in the range that next does
// not list are used first, in order (so an update that leaves its ports at
// 0, or omits them and gets the default {port: 0}, keeps what it had),
// then the lowest free ports of the range. Explicit ports are kept as
// given. Out of free ports, it is a *PortRangeExhaustedError.
func (s *ServicePortAssigner) Assign(prev, next *App) (*App, []int, error) {
	if !next.HasDynamicServicePorts() {
		return next, nil, nil
	}
	out := clonePorts(next)
	listed := out.ServicePorts()
	var reuse []int
	if prev != nil {
		for _, p := range prev.ServicePorts() {
			if s.Range.Contains(p) && !slices.Contains(listed, p) && !slices.Contains(reuse, p) {
				reuse = append(reuse, p)
			}
		}
	}
	var fresh []int
	for _, ref := range out.servicePortRefs() {
		if *ref != 0 {
			continue
		}
		if len(reuse) > 0 {
			*ref, reuse = reuse[0], reuse[1:]
			continue
		}
		p, err := s.take(listed)
		if err != nil {
			return nil, nil, err
		}
		*ref = p
		fresh = append(fresh, p)
	}
	return out, fresh, nil
}

// take is the lowest free port of the range that the app does not list
// itself, now taken.
func (s *ServicePortAssigner) take(listed []int) (int, error) {
	if s.used == nil {
		s.used = map[int]bool{}
		if s.Used != nil {
			for _, p := range s.Used() {
				s.used[p] = true
			}
		}
		s.next = s.Range.Min
	}
	for ; s.next <= s.Range.Max; s.next++ {
		if !s.used[s.next] && !slices.Contains(listed, s.next) {
			s.used[s.next] = true
			return s.next, nil
		}
	}
	return 0, &PortRangeExhaustedError{Min: s.Range.Min, Max: s.Range.Max}
}

// clonePorts copies a with its own port mappings and port definitions, so
// that assigning them changes nothing the caller holds.
func clonePorts(a *App) *App {
	out := *a
	out.PortDefinitions = slices.Clone(a.PortDefinitions)
	if a.Container != nil {
		c := *a.Container
		c.PortMappings = slices.Clone(c.PortMappings)
		if c.Docker != nil {
			d := *c.Docker
			d.PortMappings = slices.Clone(d.PortMappings)
			c.Docker = &d
		}
		out.Container = &c
	}
	return &out
}
