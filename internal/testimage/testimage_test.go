package testimage

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestModuleRoot(t *testing.T) {
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "deploy", "httpd", "Dockerfile")); err != nil {
		t.Fatalf("root %s has no deploy/httpd/Dockerfile: %v", root, err)
	}
}

func TestReadBuildOutput(t *testing.T) {
	ok := `{"stream":"Step 1/4 : FROM scratch\n"}` + "\n" + `{"stream":"Successfully tagged x:y\n"}`
	if err := readBuildOutput(strings.NewReader(ok)); err != nil {
		t.Fatalf("ok stream: %v", err)
	}
	bad := `{"stream":"Step 2/4 : COPY httpd /httpd\n"}{"errorDetail":{"message":"COPY failed"},"error":"COPY failed"}`
	if err := readBuildOutput(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "COPY failed") {
		t.Fatalf("error stream gave %v", err)
	}
}

func TestBuildHTTPD(t *testing.T) {
	cli := RequireDocker(t)
	const tag = "drover-test/httpd:testimage"
	BuildHTTPD(t, tag)
	BuildHTTPD(t, tag) // once per process: the second is free
	img, err := cli.ImageInspect(context.Background(), tag)
	if err != nil {
		t.Fatalf("inspect %s: %v", tag, err)
	}
	if got := img.Config.Entrypoint; len(got) != 1 || got[0] != "/httpd" {
		t.Errorf("entrypoint = %v, want [/httpd]", got)
	}
}
