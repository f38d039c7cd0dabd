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
	f.Observe(5)
	if ok, highest := f.Admit(4); ok || highest != 5 {
		t.Fatalf("Admit(4) = %v, %d; want refused by 5", ok, highest)
	}
	if ok, _ := f.Admit(5); !ok {
		t.Fatal("Admit(5) refused at 5")
	}
	if ok, _ := f.Admit(7); !ok || f.Highest() != 7 {
		t.Fatalf("Admit(7): highest %d", f.Highest())
	}
	f.Observe(6)
	if f.Highest() != 7 {
		t.Fatalf("Observe lowered the fence to %d", f.Highest())
	}
}

func TestFenceConcurrentObserveKeepsMax(t *testing.T) {
	var f fence
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		go func() { defer wg.Done(); f.Observe(uint64(i)); f.Admit(uint64(i)) }()
	}
	wg.Wait()
	if f.Highest() != 99 {
		t.Fatalf("highest = %d, want 99", f.Highest())
	}
}
