package natsutil

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/nats-io/nats.go"
)

// Stepdown asks the leader of a JetStream group to hand over to the server
// named, by a leader stepdown request on subject (a stream's, a consumer's
// or the meta group's) with a preferred placement (nats-server 2.11+). It
// waits 2 s at most for the answer, and fails on one that is not a success.
func Stepdown(ctx context.Context, nc *nats.Conn, subject, to string) error {
	body, err := json.Marshal(events.StepdownRequest{Placement: events.StepdownPlacement{Preferred: to}})
	if err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	msg, err := nc.RequestWithContext(rctx, subject, body)
	if err != nil {
		return err
	}
	var resp struct {
		Success bool `json:"success"`
		Error   *struct {
			Code        int    `json:"code"`
			ErrCode     int    `json:"err_code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return fmt.Errorf("stepdown answer %q: %w", msg.Data, err)
	}
	if resp.Error != nil {
		return fmt.Errorf("stepdown: %s (%d/%d)", resp.Error.Description, resp.Error.Code, resp.Error.ErrCode)
	}
	if !resp.Success {
		return errors.New("stepdown: not done")
	}
	return nil
}
