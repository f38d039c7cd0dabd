package marathon

import "fmt"

// Limits on what an app definition may hold, so that every app the api
// accepts can be stored, sent to an agent and shown: NATS refuses a message
// whose control line (the subject: a key holds the app id, a task id holds
// it too) passes 4,096 bytes, and closes the connection that sent it.
// docs/API.md lists them.
const (
	// MaxIDLength is the longest app or group id, in bytes, once
	// normalised: a task id is the app id and 53 more bytes, and the
	// longest subject built from one (a KV direct get of an instance)
	// adds about 60 more, far below NATS' 4,096.
	MaxIDLength = 512
)

// msgIDTooLong is the refusal of an id longer than MaxIDLength.
var msgIDTooLong = fmt.Sprintf("must not be longer than %d characters", MaxIDLength)
