package view

import (
	"slices"
	"strings"
	"time"

	"github.com/drover/drover/pkg/deployplan"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/api/readmodel"
)

// AppResponse is an app as the /v2/apps reads show it: the definition,
// then its task counts, deployments and, when embedded, tasks and last failure.
type AppResponse struct {
	marathon.App
	TasksStaged     int             `json:"tasksStaged"`
	TasksRunning    int             `json:"tasksRunning"`
	TasksHealthy    int             `json:"tasksHealthy"`
	TasksUnhealthy  int             `json:"tasksUnhealthy"`
	Deployments     []DeploymentRef `json:"deployments"`
	Tasks           *[]Task         `json:"tasks,omitempty"`
	LastTaskFailure *taskFailure    `json:"lastTaskFailure,omitempty"`
	// TaskStats and ReadinessCheckResults come with apps.taskStats and
	// apps.readiness: {} and [] when there is nothing to count, as
	// Marathon writes them when embedded; absent when not.
	TaskStats             *map[string]taskStats `json:"taskStats,omitempty"`
	ReadinessCheckResults *[]readinessCheck     `json:"readinessCheckResults,omitempty"`
}

// taskStats is Marathon's statistics of one set of an app's tasks.
type taskStats struct {
	Stats struct {
		Counts struct {
			Staged    int `json:"staged"`
			Running   int `json:"running"`
			Healthy   int `json:"healthy"`
			Unhealthy int `json:"unhealthy"`
		} `json:"counts"`
		LifeTime *struct {
			AverageSeconds float64 `json:"averageSeconds"`
			MedianSeconds  float64 `json:"medianSeconds"`
		} `json:"lifeTime,omitempty"`
	} `json:"stats"`
}

type DeploymentRef struct {
	ID string `json:"id"`
}

// Embeds says which optional parts an app response carries.
type Embeds struct {
	Tasks, LastTaskFailure, TaskStats, Readiness bool
}

// ParseEmbeds reads ?embed= (repeatable). Counts and deployments are always
// embedded, as in Marathon; apps.failures is the deprecated tasks+failure.
func ParseEmbeds(values []string) Embeds {
	var e Embeds
	for _, v := range values {
		for item := range strings.SplitSeq(v, ",") {
			switch strings.TrimSpace(item) {
			case "apps.tasks", "app.tasks", "group.apps.tasks":
				e.Tasks = true
			case "apps.lastTaskFailure", "app.lastTaskFailure":
				e.LastTaskFailure = true
			case "apps.failures", "app.failures":
				e.Tasks, e.LastTaskFailure = true, true
			case "apps.taskStats", "app.taskStats", "group.apps.taskStats":
				e.TaskStats = true
			case "apps.readiness", "app.readiness", "group.apps.readiness":
				e.Readiness = true
			}
		}
	}
	return e
}

func NewAppResponse(s *readmodel.State, e readmodel.AppEntry, emb Embeds) AppResponse {
	a := e.Rec.App
	r := AppResponse{App: a, Deployments: []DeploymentRef{}}
	instances := s.AppInstances(a.ID)
	for _, in := range instances {
		switch in.State {
		case events.TaskStaging, events.TaskStarting:
			r.TasksStaged++
		case events.TaskRunning:
			r.TasksRunning++
		}
		if h := in.Healthy(); h != nil && !in.State.Terminal() {
			if *h {
				r.TasksHealthy++
			} else {
				r.TasksUnhealthy++
			}
		}
	}
	if emb.TaskStats {
		ts := newTaskStats(&a, instances, time.Now())
		r.TaskStats = &ts
	}
	if emb.Readiness {
		rc := readinessResults(s, a.ID)
		r.ReadinessCheckResults = &rc
	}
	for _, d := range s.AppDeployments(a.ID) {
		r.Deployments = append(r.Deployments, DeploymentRef{ID: d.ID})
	}
	if emb.Tasks {
		tasks := AppTasks(s, &a)
		r.Tasks = &tasks
	}
	if f, ok := s.Failures[a.ID]; ok && emb.LastTaskFailure {
		r.LastTaskFailure = newTaskFailure(f)
	}
	return r
}

// newTaskStats is Marathon's taskStats of an app's live tasks: all of
// them, those with its latest config, those with an older one, and those
// started after its last scaling. A set without tasks is left out.
func newTaskStats(a *marathon.App, instances []events.Instance, now time.Time) map[string]taskStats {
	config := deployplan.ConfigVersion(a)
	scaledAt := a.Version
	if a.VersionInfo != nil && a.VersionInfo.LastScalingAt != "" {
		scaledAt = a.VersionInfo.LastScalingAt
	}
	sets := map[string]func(events.Instance) bool{
		"totalSummary":            func(events.Instance) bool { return true },
		"withLatestConfig":        func(in events.Instance) bool { return in.Version == config },
		"withOutdatedConfig":      func(in events.Instance) bool { return in.Version != config },
		"startedAfterLastScaling": func(in events.Instance) bool { return FormatTime(in.StagedAt) >= scaledAt },
	}
	out := map[string]taskStats{}
	for name, in := range sets {
		var ts taskStats
		var lives []float64
		for _, i := range instances {
			if i.State.Terminal() || !in(i) {
				continue
			}
			switch i.State {
			case events.TaskStaging, events.TaskStarting:
				ts.Stats.Counts.Staged++
			case events.TaskRunning:
				ts.Stats.Counts.Running++
			}
			if h := i.Healthy(); h != nil {
				if *h {
					ts.Stats.Counts.Healthy++
				} else {
					ts.Stats.Counts.Unhealthy++
				}
			}
			if !i.StartedAt.IsZero() {
				lives = append(lives, now.Sub(i.StartedAt).Seconds())
			}
		}
		c := ts.Stats.Counts
		if c.Staged+c.Running == 0 && len(lives) == 0 {
			continue
		}
		if len(lives) > 0 {
			slices.Sort(lives)
			sum := 0.0
			for _, l := range lives {
				sum += l
			}
			ts.Stats.LifeTime = &struct {
				AverageSeconds float64 `json:"averageSeconds"`
				MedianSeconds  float64 `json:"medianSeconds"`
			}{sum / float64(len(lives)), lives[len(lives)/2]}
		}
		out[name] = ts
	}
	return out
}
