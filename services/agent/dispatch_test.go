package agent

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestDispatcherSerialisesAKey(t *testing.T) {
	d := newDispatcher(4)
	var mu sync.Mutex
	got := map[string][]int{}
	var inKey sync.Map // key -> *atomic.Int32
	for i := range 50 {
		for _, key := range []string{"a", "b", "c"} {
			d.Submit(key, func() {
				v, _ := inKey.LoadOrStore(key, new(atomic.Int32))
				if n := v.(*atomic.Int32).Add(1); n != 1 {
					t.Errorf("%d jobs of key %s at once", n, key)
				}
				time.Sleep(50 * time.Microsecond)
				mu.Lock()
				got[key] = append(got[key], i)
				mu.Unlock()
				v.(*atomic.Int32).Add(-1)
			})
		}
	}
	d.Wait()
	for _, key := range []string{"a", "b", "c"} {
		if len(got[key]) != 50 || !slices.IsSorted(got[key]) {
			t.Errorf("key %s ran %v", key, got[key])
		}
	}
}

func TestDispatcherBoundsConcurrency(t *testing.T) {
	d := newDispatcher(2)
	var running, peak atomic.Int32
	release := make(chan struct{})
	for i := range 6 {
		d.Submit(fmt.Sprint(i), func() {
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			<-release
			running.Add(-1)
		})
	}
	deadline := time.Now().Add(5 * time.Second)
	for peak.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(release)
	d.Wait()
	if p := peak.Load(); p != 2 {
		t.Fatalf("peak concurrency %d, want 2", p)
	}
}
