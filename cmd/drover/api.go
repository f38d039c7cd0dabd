package main

import (
	"context"
	"log/slog"

	"github.com/drover/drover/internal/version"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/services/api"
)

type apiFlags struct {
	HTTPAddr string `default:":8080" help:"Address the Marathon /v2 API listens on."`
}

func (f apiFlags) config() api.Config {
	cfg := api.DefaultConfig()
	cfg.HTTPAddr = f.HTTPAddr
	cfg.Version = version.Version
	cfg.BuildRef = version.Commit()
	return cfg
}

func runAPI(ctx context.Context, cfg api.Config, bus *events.Bus, logger *slog.Logger) error {
	s, err := api.New(cfg, bus, logger)
	if err != nil {
		return err
	}
	return s.Run(ctx)
}

type apiCmd struct {
	natsFlags
	busFlags
	apiFlags
}

func (c *apiCmd) Run(ctx context.Context, logger *slog.Logger) error {
	cfg := c.apiFlags.config()
	if err := cfg.Validate(); err != nil {
		return err
	}
	nc, err := c.connect("drover-api", logger)
	if err != nil {
		return err
	}
	defer nc.Close()
	bus, err := c.setup(ctx, nc, logger)
	if err != nil {
		return err
	}
	return runAPI(ctx, cfg, bus, logger)
}
