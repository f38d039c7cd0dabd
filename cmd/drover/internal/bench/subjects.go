package bench

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/drover/drover/pkg/events"
	"github.com/nats-io/nats.go"
)

// subjectTally counts the messages and bytes (subject, headers and payload)
// seen on every subject during a phase, by subjectGroup.
type subjectTally struct {
	sub *nats.Subscription

	mu     sync.Mutex
	groups map[string]*subjectCount
}

type subjectCount struct {
	group       string
	msgs, bytes int64
}

// tallySubjects subscribes to every subject of the connection's account.
// It sees what the server delivers, the JetStream API's answers and the
// consumers' deliveries included, so its sum is above the server's
// "messages in".
func tallySubjects(nc *nats.Conn) (*subjectTally, error) {
	t := &subjectTally{groups: map[string]*subjectCount{}}
	sub, err := nc.Subscribe(">", func(m *nats.Msg) {
		n := int64(len(m.Subject) + len(m.Data))
		for k, vs := range m.Header {
			for _, v := range vs {
				n += int64(len(k) + len(v) + 4)
			}
		}
		g := subjectGroup(m.Subject)
		t.mu.Lock()
		defer t.mu.Unlock()
		c := t.groups[g]
		if c == nil {
			c = &subjectCount{group: g}
			t.groups[g] = c
		}
		c.msgs++
		c.bytes += n
	})
	if err != nil {
		return nil, err
	}
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		_ = sub.Unsubscribe()
		return nil, err
	}
	t.sub = sub
	return t, nil
}

// stop ends the tally (what is already delivered is still counted).
func (t *subjectTally) stop() {
	_ = t.sub.Drain()
}

// report writes the groups by bytes, largest first, per instance.
func (t *subjectTally) report(w io.Writer, instances int, top int) {
	t.mu.Lock()
	all := make([]subjectCount, 0, len(t.groups))
	var sum subjectCount
	for _, c := range t.groups {
		all = append(all, *c)
		sum.msgs += c.msgs
		sum.bytes += c.bytes
	}
	t.mu.Unlock()
	slices.SortFunc(all, func(a, b subjectCount) int {
		return cmp.Or(cmp.Compare(b.bytes, a.bytes), strings.Compare(a.group, b.group))
	})
	per := func(n int64) float64 { return float64(n) / float64(instances) }
	fmt.Fprintf(w, "NATS traffic by subject during the deployment (all delivered, per instance): %.1f msgs, %.0f bytes\n", per(sum.msgs), per(sum.bytes))
	for i, c := range all {
		if i == top {
			fmt.Fprintf(w, "  ... %d more groups\n", len(all)-top)
			break
		}
		fmt.Fprintf(w, "  %-48s %8.2f msgs %8.0f bytes\n", c.group, per(c.msgs), per(c.bytes))
	}
}

// subjectGroup names a subject's kind, its ids replaced: an agent's
// subjects by their last token, a bucket's keys by the bucket, the
// JetStream API by its request, the rest by their first two tokens.
func subjectGroup(subject string) string {
	tok := strings.Split(subject, ".")
	switch {
	case strings.HasPrefix(subject, "drover.agent.") && len(tok) >= 4:
		return "drover.agent.*." + strings.Join(tok[3:], ".")
	case strings.HasPrefix(subject, "drover.events.") && len(tok) >= 3:
		return "drover.events." + tok[2]
	case strings.HasPrefix(subject, events.KVPrefix) && len(tok) >= 2:
		return events.KVPrefix + tok[1] + ".>"
	case strings.HasPrefix(subject, events.JSAPIPrefix):
		// $JS.API.CONSUMER.CREATE.<stream>...: the request and its stream.
		if len(tok) > 5 {
			return strings.Join(tok[:5], ".") + ".>"
		}
		return subject
	case strings.HasPrefix(subject, events.JSAckPrefix) && len(tok) >= 3:
		return events.JSAckPrefix + tok[2] + ".>"
	case tok[0] == "_INBOX":
		return "_INBOX.>"
	case len(tok) >= 2:
		return tok[0] + "." + tok[1] + ".>"
	}
	return subject
}
