package agent

import "sync"

// dispatcher runs jobs with at most n at once, and the jobs of one key one
// after another in the order they were submitted.
type dispatcher struct {
	sem    chan struct{}
	mu     sync.Mutex
	queues map[string][]func() // a key is present while a drainer runs for it
	wg     sync.WaitGroup
}

func newDispatcher(n int) *dispatcher {
	return &dispatcher{sem: make(chan struct{}, n), queues: map[string][]func(){}}
}

// Submit queues job behind the other jobs of key.
func (d *dispatcher) Submit(key string, job func()) {
	d.mu.Lock()
	q, running := d.queues[key]
	d.queues[key] = append(q, job)
	if !running {
		d.wg.Add(1)
		go d.drain(key)
	}
	d.mu.Unlock()
}

func (d *dispatcher) drain(key string) {
	defer d.wg.Done()
	for {
		d.mu.Lock()
		q := d.queues[key]
		if len(q) == 0 {
			delete(d.queues, key)
			d.mu.Unlock()
			return
		}
		job := q[0]
		d.queues[key] = q[1:]
		d.mu.Unlock()
		d.sem <- struct{}{}
		job()
		<-d.sem
	}
}

// Wait blocks until every submitted job has run.
func (d *dispatcher) Wait() { d.wg.Wait() }
