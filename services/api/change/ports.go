package change

import (
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/api/readmodel"
)

// assignServicePorts gives every 0 service port of the change's new and
// reconfigured apps a port of r (marathon.ServicePortAssigner: an app
// keeps the ones it had, the others are free in every app and not in
// extra) and returns, by app id, the ports it took from the free ones:
// those are claimed before the change is written (claims.go). As in
// Marathon, an app only scaled is left as it is. Called with the read
// lock held.
func assignServicePorts(st *readmodel.State, extra []int, ops []Op, r marathon.PortRange) (map[string][]int, error) {
	a := marathon.ServicePortAssigner{Range: r, Used: func() []int { return append(usedServicePorts(st, ops), extra...) }}
	var took map[string][]int
	for i := range ops {
		op := &ops[i]
		if op.Next == nil || !op.Next.HasDynamicServicePorts() {
			continue
		}
		var prev *marathon.App
		if op.Prev != nil {
			prev = &op.Prev.Rec.App
			if !op.Restart && !ConfigChanged(prev, op.Next) {
				continue
			}
		}
		next, fresh, err := a.Assign(prev, op.Next)
		if err != nil {
			return nil, err
		}
		op.Next = next
		if len(fresh) > 0 {
			if took == nil {
				took = map[string][]int{}
			}
			took[op.ID] = fresh
		}
	}
	return took, nil
}

// usedServicePorts are the service ports of every app before the change
// and of the change's apps after it.
func usedServicePorts(st *readmodel.State, ops []Op) []int {
	var used []int
	for _, e := range st.Apps {
		used = append(used, e.Rec.App.ServicePorts()...)
	}
	for _, op := range ops {
		if op.Next != nil {
			used = append(used, op.Next.ServicePorts()...)
		}
	}
	return used
}
