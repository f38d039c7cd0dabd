package chaos

import (
	"context"
	"io"
	"net"
	"sync"
)

// trackingListener records the connections it accepts so that Refuse and
// Close can close them all, hijacked ones included.
type trackingListener struct {
	net.Listener
	p      *DockerProxy
	closed bool // guarded by p.mu
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.p.mu.Lock()
	defer l.p.mu.Unlock()
	if l.closed {
		_ = c.Close()
		return nil, net.ErrClosed
	}
	tc := &trackedConn{Conn: c, p: l.p}
	l.p.conns[tc] = struct{}{}
	return tc, nil
}

type trackedConn struct {
	net.Conn
	p    *DockerProxy
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.p.mu.Lock()
		delete(c.p.conns, c)
		c.p.mu.Unlock()
	})
	return c.Conn.Close()
}

// heldBody is a response body from the daemon that delivers nothing while the
// proxy stalls: what a read brings in waits until the stall ends.
type heldBody struct {
	io.ReadCloser
	p   *DockerProxy
	ctx context.Context
}

func (b *heldBody) Read(q []byte) (int, error) {
	if err := b.p.hold(b.ctx); err != nil {
		return 0, err
	}
	n, err := b.ReadCloser.Read(q)
	if herr := b.p.hold(b.ctx); herr != nil {
		return 0, herr
	}
	return n, err
}

// heldConn is the daemon side of a hijacked (101 Switching Protocols)
// connection: both directions wait while the proxy stalls.
type heldConn struct {
	*heldBody
	w io.Writer
}

func (c *heldConn) Write(q []byte) (int, error) {
	if err := c.p.hold(c.ctx); err != nil {
		return 0, err
	}
	return c.w.Write(q)
}
