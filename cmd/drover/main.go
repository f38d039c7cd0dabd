// Command drover runs Drover: the standalone all-in-one, or one role of a
// cluster (nats, api, scheduler, agent). Every flag has a DROVER_ twin in
// the environment; `drover <command> --help` lists them.
package main

import (
	"context"
	"fmt"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kong"
)

type cli struct {
	Log   logFlags `embed:"" prefix:"log-"`
	Pprof string   `help:"Serve Go's pprof profiles on this address (e.g. 127.0.0.1:6060) while running. They have no authentication (a heap profile holds secrets): beyond loopback Drover refuses to start unless the command has --insecure-no-auth."`

	Standalone standaloneCmd `cmd:"" help:"Run everything on one machine: embedded NATS, the api, a scheduler and an agent on the local Docker daemon."`
	NATS       natsCmd       `cmd:"" name:"nats" help:"Run a NATS JetStream node (single, or one node of a cluster)."`
	API        apiCmd        `cmd:"" name:"api" help:"Run an api replica: the Marathon /v2 REST API."`
	Scheduler  schedulerCmd  `cmd:"" help:"Run a scheduler; one of all schedulers leads at a time."`
	Agent      agentCmd      `cmd:"" help:"Run an agent: the containers of one host, on its Docker daemon."`
	Bench      benchCmd      `cmd:"" help:"Measure Drover at size: NATS, api and scheduler processes with simulated agents."`
	Version    versionCmd    `cmd:"" help:"Print the version."`
	AgentExec  agentExecCmd  `cmd:"" name:"agent-exec" hidden:"" help:"Supervise one host command of an agent (the agent runs it)."`

	HashPassword hashPasswordCmd `cmd:"" name:"hash-password" help:"Read a password on standard input and print its bcrypt hash, for a user of the API's credentials file (--auth-file)."`
	NewToken     newTokenCmd     `cmd:"" name:"new-token" help:"Print a new API bearer token and its hash, for a user of the API's credentials file (--auth-file)."`
}

func main() {
	var c cli
	kctx := kong.Parse(&c,
		kong.Name("drover"),
		kong.Description("Drover runs Docker containers across a cluster of hosts and keeps them running. It speaks Marathon's /v2 API."),
		kong.DefaultEnvars("DROVER"),
		kong.UsageOnError(),
	)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger, err := c.Log.logger()
	if err != nil {
		fmt.Fprintln(os.Stderr, "drover:", err)
		os.Exit(2)
	}
	if c.Pprof != "" {
		// pprof has no authentication, whatever --auth-file says: the
		// loopback rule of the API and NATS, with nothing to secure it.
		insecure := c.Standalone.InsecureNoAuth || c.API.InsecureNoAuth || c.NATS.Run.InsecureNoAuth
		if err := checkExposure(logger, "pprof", c.Pprof, false, insecure,
			"pprof has no authentication: serve it on loopback and reach it through an SSH tunnel"); err != nil {
			logger.Error("drover not started", "error", err)
			os.Exit(1)
		}
		go func() {
			// The default mux carries net/http/pprof's handlers.
			if err := http.ListenAndServe(c.Pprof, nil); err != nil {
				logger.Error("pprof", "error", err)
			}
		}()
	}
	kctx.BindTo(ctx, (*context.Context)(nil))
	kctx.Bind(logger)
	if err := kctx.Run(); err != nil {
		logger.Error("drover stopped", "error", err)
		os.Exit(1)
	}
}
