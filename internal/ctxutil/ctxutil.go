// Package ctxutil holds what the services share about contexts.
package ctxutil

import (
	"context"
	"time"
)

// Sleep waits d, or until ctx is done; it reports whether ctx is still
// live (d <= 0 returns at once).
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
