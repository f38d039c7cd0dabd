package docker

import (
	"slices"
	"testing"
)

func TestContainerName(t *testing.T) {
	if got := ContainerName("host1", "web.a1b2"); got != "drover.host1.web.a1b2" {
		t.Fatalf("ContainerName = %q", got)
	}
}

func TestValidTaskID(t *testing.T) {
	for _, ok := range []string{"web.1", "grp_web.5f0c-11", "A"} {
		if err := validTaskID(ok); err != nil {
			t.Errorf("validTaskID(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "web/1", "web 1", "wéb", ".", ".."} {
		if validTaskID(bad) == nil {
			t.Errorf("validTaskID(%q) accepted", bad)
		}
	}
}

func TestIntLists(t *testing.T) {
	if s := joinInts([]int{31000, 31001}); s != "31000,31001" {
		t.Fatalf("joinInts = %q", s)
	}
	if got := splitInts("31000, 31001,x"); !slices.Equal(got, []int{31000, 31001}) {
		t.Fatalf("splitInts = %v", got)
	}
	if splitList("") != nil || len(splitList("80/tcp,53/udp")) != 2 {
		t.Fatal("splitList")
	}
}
