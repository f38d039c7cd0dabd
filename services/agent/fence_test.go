package agent

import (
	"sync"
	"testing"
)

func TestFence(t *testing.T) {
	var f fence
	if ok, _ := f.Admit(0); !ok {
		t.Fatal("epoch 0 refused by a fresh fence")
	}
	f.Observe(5, 0)
	if ok, highest := f.Admit(4); ok || highest != 5 {
		t.Fatalf("Admit(4) = %v, %d; want refused by 5", ok, highest)
	}
	if ok, _ := f.Admit(5); !ok {
		t.Fatal("Admit(5) refused at 5")
	}
	if ok, _ := f.Admit(7); !ok || f.Highest() != 7 {
		t.Fatalf("Admit(7): highest %d", f.Highest())
	}
	f.Observe(6, 0)
	if f.Highest() != 7 {
		t.Fatalf("Observe lowered the fence to %d", f.Highest())
	}
}

func TestFenceConcurrentObserveKeepsMax(t *testing.T) {
	var f fence
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		go func() { defer wg.Done(); f.Observe(uint64(i), 0); f.Admit(uint64(i)) }()
	}
	wg.Wait()
	if f.Highest() != 99 {
		t.Fatalf("highest = %d, want 99", f.Highest())
	}
}

// A leader that reclaimed its own lock (lineage 3, now epoch 8) still has
// what its earlier terms sent run; a new lineage fences them all.
func TestFenceLineage(t *testing.T) {
	var f fence
	f.Observe(8, 3)
	for _, c := range []struct {
		epoch uint64
		ok    bool
	}{{2, false}, {3, true}, {5, true}, {8, true}} {
		if ok, _ := f.Admit(c.epoch); ok != c.ok {
			t.Errorf("lineage 3..8: Admit(%d) = %v, want %v", c.epoch, ok, c.ok)
		}
	}
	// Another scheduler's term: only it.
	f.Observe(12, 12)
	if ok, highest := f.Admit(8); ok || highest != 12 {
		t.Errorf("new lineage 12: Admit(8) = %v, %d; want refused by 12", ok, highest)
	}
	// A command ahead of its leader's record admits only its epoch, until
	// the record says where its lineage starts.
	if ok, _ := f.Admit(15); !ok {
		t.Fatal("Admit(15) refused")
	}
	if ok, _ := f.Admit(13); ok {
		t.Error("Admit(13) before 15's record: admitted")
	}
	f.Observe(15, 13)
	if ok, _ := f.Admit(13); !ok {
		t.Error("Admit(13) after 15's record of lineage 13: refused")
	}
	// An older record, or a lineage above its epoch, moves nothing.
	f.Observe(14, 1)
	f.Observe(15, 99)
	if ok, _ := f.Admit(12); ok || f.Highest() != 15 {
		t.Errorf("after stray records: Admit(12) = %v, highest %d", ok, f.Highest())
	}
	if ok, _ := f.Admit(13); !ok {
		t.Error("after stray records: Admit(13) refused")
	}
}
