package testimage

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/client"
)

// Builder is the part of the Docker client Build uses.
type Builder interface {
	ImageBuild(ctx context.Context, buildContext io.Reader, options build.ImageBuildOptions) (build.ImageBuildResponse, error)
}

// ModuleRoot is the directory of this repository's go.mod.
func ModuleRoot() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok {
		root := filepath.Join(filepath.Dir(file), "..", "..")
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			return filepath.Clean(root), nil
		}
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("testimage: go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("testimage: not inside the drover module")
	}
	return filepath.Dir(gomod), nil
}

// Build compiles cmd/httpd into a static linux binary for goarch ("" is the
// build machine's) and builds the image tag from deploy/httpd/Dockerfile
// through the Docker Engine API's classic builder.
func Build(ctx context.Context, cli Builder, tag, goarch string) error {
	root, err := ModuleRoot()
	if err != nil {
		return err
	}
	dockerfile, err := os.ReadFile(filepath.Join(root, "deploy", "httpd", "Dockerfile"))
	if err != nil {
		return fmt.Errorf("testimage: %w", err)
	}
	binDir, err := os.MkdirTemp("", "drover-httpd-")
	if err != nil {
		return fmt.Errorf("testimage: %w", err)
	}
	defer os.RemoveAll(binDir)
	bin := filepath.Join(binDir, "httpd")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./cmd/httpd")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if goarch != "" {
		cmd.Env = append(cmd.Env, "GOARCH="+goarch)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("testimage: go build cmd/httpd: %w: %s", err, out)
	}
	binary, err := os.ReadFile(bin)
	if err != nil {
		return fmt.Errorf("testimage: %w", err)
	}
	buildCtx, err := tarFiles(map[string]tarFile{
		"Dockerfile": {data: dockerfile, mode: 0o644},
		"httpd":      {data: binary, mode: 0o755},
	})
	if err != nil {
		return err
	}
	resp, err := cli.ImageBuild(ctx, buildCtx, build.ImageBuildOptions{
		Tags:        []string{tag},
		Dockerfile:  "Dockerfile",
		Remove:      true,
		ForceRemove: true,
		Version:     build.BuilderV1,
	})
	if err != nil {
		return fmt.Errorf("testimage: build %s: %w", tag, err)
	}
	defer resp.Body.Close()
	if err := readBuildOutput(resp.Body); err != nil {
		return fmt.Errorf("testimage: build %s: %w", tag, err)
	}
	return nil
}

type tarFile struct {
	data []byte
	mode int64
}

func tarFiles(files map[string]tarFile) (io.Reader, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, f := range files {
		hdr := &tar.Header{Name: name, Mode: f.mode, Size: int64(len(f.data)), ModTime: time.Unix(0, 0)}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("testimage: tar: %w", err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, fmt.Errorf("testimage: tar: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("testimage: tar: %w", err)
	}
	return &buf, nil
}

// readBuildOutput drains the builder's JSON stream and returns the error it reports.
func readBuildOutput(r io.Reader) error {
	dec := json.NewDecoder(r)
	var tail []string
	for {
		var m struct {
			Stream      string `json:"stream"`
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read build output: %w", err)
		}
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			return fmt.Errorf("%s (after: %s)", m.ErrorDetail.Message, strings.Join(tail, ""))
		}
		if m.Error != "" {
			return errors.New(m.Error)
		}
		if m.Stream != "" {
			tail = append(tail, m.Stream)
			if len(tail) > 5 {
				tail = tail[1:]
			}
		}
	}
}

var built sync.Map // tag -> *buildOnce

type buildOnce struct {
	once sync.Once
	err  error
}

// RequireDocker is a client of the Docker daemon the environment names, once
// it answers a ping, closed when the test ends. Without a daemon the test is
// skipped, except in CI (CI=true), where Docker tests must run: it fails.
func RequireDocker(t testing.TB) *client.Client {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err == nil {
		t.Cleanup(func() { _ = cli.Close() })
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err = cli.Ping(ctx)
		cancel()
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the Docker daemon is required in CI: %v", err)
		}
		t.Skipf("skipping: no Docker daemon reachable (%v); CI=true makes this a failure", err)
	}
	return cli
}

// BuildHTTPD builds the httpd stand-in image as tag for a test, once per tag
// in a test process, and fails the test when it cannot.
func BuildHTTPD(t testing.TB, tag string) {
	t.Helper()
	v, _ := built.LoadOrStore(tag, &buildOnce{})
	b := v.(*buildOnce)
	b.once.Do(func() {
		cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
		if err != nil {
			b.err = fmt.Errorf("testimage: docker client: %w", err)
			return
		}
		defer cli.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		sv, err := cli.ServerVersion(ctx)
		if err != nil {
			b.err = fmt.Errorf("testimage: docker version: %w", err)
			return
		}
		b.err = Build(ctx, cli, tag, sv.Arch)
	})
	if b.err != nil {
		t.Fatalf("build image %s: %v", tag, b.err)
	}
}
