package main

import (
	"fmt"
	"runtime"

	"github.com/drover/drover/internal/version"
)

type versionCmd struct{}

func (versionCmd) Run() error {
	fmt.Printf("drover %s (commit %s, %s)\n", version.Version, version.Commit(), runtime.Version())
	return nil
}
