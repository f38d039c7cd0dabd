// Package chaos holds test tools for "trust under load" tests: they degrade
// what Drover relies on, within one test, and leave nothing behind.
//
//   - DockerProxy (StartDockerProxy) sits on a Unix socket in front of the
//     Docker daemon; a test points a Docker client at Host() and makes the
//     daemon answer late (SetDelay, SetDelayFor), never (Stall), or not
//     accept connections at all (Refuse), and back (Normal). Streams
//     (/events, logs, attach) pass through it.
//   - BusyLoops (StartBusyLoops) are separate OS processes spinning on the
//     CPU, so the code under test competes for it as with other work on the
//     machine.
//   - Churn (StartContainerChurn) creates, starts and removes containers on
//     the daemon in a loop; every container it makes carries the label
//     drover.chaos=1.
//
// Every tool stops at the test's cleanup: sockets closed and removed,
// processes killed and reaped, containers removed.
//
// Through a refusing proxy the Docker client's calls fail at once: the dial
// of the removed socket gives ENOENT ("dial unix ...: connect: no such file
// or directory"), which the client reports as "Cannot connect to the Docker
// daemon at unix://...", an error client.IsErrConnectionFailed is true for.
// Through a stalled proxy they fail only when their context ends, with the
// context's error (context.DeadlineExceeded), which IsErrConnectionFailed
// is false for.
package chaos
