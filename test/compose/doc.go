// Package compose brings up deploy/compose, the cluster as a Docker Compose
// demo, deploys its example app 3 of 3 and tears it down. It needs Docker
// and Compose (`docker compose` or `docker-compose`): elsewhere it skips,
// unless CI=true, where it fails instead.
package compose
