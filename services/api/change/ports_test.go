package change

import (
	"errors"
	"slices"
	"testing"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/api/readmodel"
)

// hostApp is a defaulted app on the host network with these ports.
func hostApp(id string, instances int, ports ...int) *marathon.App {
	cmd := "x"
	a := &marathon.App{ID: id, Cmd: &cmd, Instances: &instances, PortDefinitions: []marathon.PortDefinition{}}
	for _, p := range ports {
		a.PortDefinitions = append(a.PortDefinitions, marathon.PortDefinition{Port: p})
	}
	marathon.ApplyDefaults(a)
	return a
}

func entry(a *marathon.App) *readmodel.AppEntry {
	return &readmodel.AppEntry{Rec: events.AppRecord{V: events.Version, App: *a}, Rev: 1}
}

func TestAssignServicePortsOfAChange(t *testing.T) {
	legacy := hostApp("/legacy", 1, 0) // stored before ports were assigned
	kept := hostApp("/kept", 1, 10000)
	st := &readmodel.State{Apps: map[string]readmodel.AppEntry{"/legacy": *entry(legacy), "/kept": *entry(kept)}}
	r := marathon.DefaultPortRange()
	for _, tt := range []struct {
		name string
		op   Op
		want []int
		took bool
	}{
		{"new app", Op{ID: "/new", Next: hostApp("/new", 1, 0, 0)}, []int{10001, 10002}, true},
		{"scale of an app at 0 leaves it", Op{ID: "/legacy", Prev: entry(legacy), Next: hostApp("/legacy", 3, 0)}, []int{0}, false},
		{"restart assigns", Op{ID: "/legacy", Prev: entry(legacy), Next: hostApp("/legacy", 1, 0), Restart: true}, []int{10001}, true},
		{"update keeps its port", Op{ID: "/kept", Prev: entry(kept), Next: hostApp("/kept", 2, 0)}, []int{10000}, false},
		{"delete", Op{ID: "/kept", Prev: entry(kept)}, nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var before []int
			if tt.op.Next != nil {
				before = tt.op.Next.ServicePorts()
			}
			ops := []Op{tt.op}
			fresh, err := assignServicePorts(st, nil, ops, r)
			if err != nil {
				t.Fatal(err)
			}
			if took := len(fresh[tt.op.ID]) > 0; took != tt.took || len(fresh) > 1 {
				t.Errorf("took free ports: %v, want %v", fresh, tt.took)
			}
			if tt.took && !slices.Equal(fresh[tt.op.ID], tt.want) {
				t.Errorf("fresh ports %v, want %v", fresh[tt.op.ID], tt.want)
			}
			if ops[0].Next == nil {
				return
			}
			if got := ops[0].Next.ServicePorts(); !slices.Equal(got, tt.want) {
				t.Errorf("service ports %v, want %v", got, tt.want)
			}
			if got := tt.op.Next.ServicePorts(); !slices.Equal(got, before) {
				t.Errorf("the op's definition was changed in place: %v, was %v", got, before)
			}
		})
	}
}

func TestAssignServicePortsExhaustedRefusesTheChange(t *testing.T) {
	st := &readmodel.State{Apps: map[string]readmodel.AppEntry{"/a": *entry(hostApp("/a", 1, 10000))}}
	ops := []Op{{ID: "/b", Next: hostApp("/b", 1, 0)}, {ID: "/c", Next: hostApp("/c", 1, 0)}}
	_, err := assignServicePorts(st, nil, ops, marathon.PortRange{Min: 10000, Max: 10001})
	var exhausted *marathon.PortRangeExhaustedError
	if !errors.As(err, &exhausted) {
		t.Fatalf("err = %v, want the range exhausted", err)
	}
}
