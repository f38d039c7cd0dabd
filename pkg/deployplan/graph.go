package deployplan

import (
	"slices"

	"github.com/drover/drover/pkg/marathon"
)

// Graph is the apps' dependencies after a change: app id -> the app ids it
// depends on (a dependency on a group is one on every app under it).
type Graph map[string][]string

// FinalGraph is the dependency graph of the changed apps, and of the apps
// they depend on, once the change is made.
func FinalGraph(apps Apps, changes []Change) Graph {
	final := map[string]*marathon.App{}
	changed := map[string]bool{}
	for _, c := range changes {
		changed[c.ID] = true
		if c.Next != nil {
			final[c.ID] = c.Next
		}
	}
	exists := func(id string) bool {
		if changed[id] {
			return final[id] != nil
		}
		return apps.App(id) != nil
	}
	g := Graph{}
	var visit func(id string)
	visit = func(id string) {
		if _, done := g[id]; done {
			return
		}
		a := final[id]
		if a == nil && !changed[id] {
			a = apps.App(id)
		}
		g[id] = []string{}
		if a == nil {
			return
		}
		var deps []string
		for _, d := range a.Dependencies {
			if exists(d) {
				deps = append(deps, d)
				continue
			}
			for _, id := range apps.Under(d) { // a group
				if exists(id) {
					deps = append(deps, id)
				}
			}
			for id := range final {
				if InGroup(id, d) && !slices.Contains(deps, id) {
					deps = append(deps, id)
				}
			}
		}
		g[id] = deps
		for _, d := range deps {
			visit(d)
		}
	}
	for _, c := range changes {
		visit(c.ID)
	}
	return g
}

// level is the length of the longest dependency chain below an app.
func (g Graph) level(id string, onPath map[string]bool) int {
	if onPath[id] {
		return 0 // a cycle; Cyclic finds those
	}
	onPath[id] = true
	defer delete(onPath, id)
	l := 0
	for _, d := range g[id] {
		l = max(l, g.level(d, onPath)+1)
	}
	return l
}

// Cyclic reports whether a change leaves a dependency cycle through one of
// the apps it changes.
func Cyclic(apps Apps, changes []Change) bool {
	g := FinalGraph(apps, changes)
	const (
		visiting = 1
		done     = 2
	)
	mark := map[string]int{}
	var cyclic func(id string) bool
	cyclic = func(id string) bool {
		switch mark[id] {
		case visiting:
			return true
		case done:
			return false
		}
		mark[id] = visiting
		for _, d := range g[id] {
			if cyclic(d) {
				return true
			}
		}
		mark[id] = done
		return false
	}
	for _, c := range changes {
		if cyclic(c.ID) {
			return true
		}
	}
	return false
}
