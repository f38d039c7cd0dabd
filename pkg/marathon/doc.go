// Package marathon is the Marathon 1.x app definition as Drover reads it:
// the model (App, as /v2/apps takes and returns it; fields Drover does not
// act on are kept and echoed back), Marathon's defaults (ApplyDefaults),
// ids (NormalizeID, ParentID), validation with Marathon's field paths
// (Validate, ValidateSizes), the docker parameters Drover maps to Docker
// options (ParseDockerParameters), readiness checks, and what an app may
// reach on its host (HostAccessOf, ImageAllowed) for the operator's policy.
// It imports neither NATS nor the Docker client; the api, the scheduler and
// the agents share it.
package marathon
