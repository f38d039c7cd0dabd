package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/drover/drover/cmd/drover/internal/bench"
)

type benchCmd struct {
	Agents       int           `default:"100" help:"Simulated agents."`
	Apps         int           `default:"10" help:"Apps to deploy."`
	Instances    int           `default:"1000" help:"Instances in all, spread over the apps."`
	StartLatency time.Duration `default:"0s" help:"How long each simulated launch takes."`
	FailFraction float64       `default:"0.1" help:"Fraction of agents killed at once in the failure storm."`
	Schedulers   int           `default:"2" help:"Scheduler processes (two or more for the failover)."`
	Timeout      time.Duration `default:"5m" help:"Limit for each phase."`
	SchedulerLog string        `default:"warn" enum:"debug,info,warn,error" help:"Log level of the scheduler processes."`
	BySubject    bool          `help:"Tally the deployment's NATS traffic by subject and print it (adds a subscriber to every subject)."`
}

func (c *benchCmd) Run(ctx context.Context, logger *slog.Logger) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cfg := bench.Config{Agents: c.Agents, Apps: c.Apps, Instances: c.Instances, StartLatency: c.StartLatency,
		FailFraction: c.FailFraction, Schedulers: c.Schedulers, Binary: self, Timeout: c.Timeout, SchedulerLog: c.SchedulerLog, BySubject: c.BySubject}
	res, err := bench.Run(ctx, cfg, logger, os.Stdout)
	if err != nil {
		return err
	}
	fmt.Println()
	res.Report(os.Stdout)
	return nil
}
