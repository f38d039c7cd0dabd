// Package memruntime is an agent.Runtime whose tasks are fake: they exist in
// memory only. Tests drive it (a task exits, the "daemon" goes down, a launch
// fails), and the scale simulator runs thousands of agents on it.
package memruntime
