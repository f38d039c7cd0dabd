package decide

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsNoNATSNorDocker: the decisions import neither NATS nor Docker,
// directly or through another package of this module.
func TestImportsNoNATSNorDocker(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps listed only %v", deps)
	}
	for _, dep := range deps {
		for _, banned := range []string{"github.com/nats-io/", "github.com/docker/", "github.com/moby/", "github.com/containerd/"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("package decide depends on %s", dep)
			}
		}
	}
}
