package natsutil

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

func startWith(t *testing.T, cfg ServerConfig) *server.Server {
	t.Helper()
	ns, err := StartServer(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns
}

func connectAs(ns *server.Server, l *Login, inProcess bool) (*nats.Conn, error) {
	opts := []nats.Option{nats.MaxReconnects(0)}
	if l != nil {
		opts = append(opts, nats.UserInfo(l.User, l.Password))
	}
	if inProcess {
		opts = append(opts, nats.InProcessServer(ns))
	}
	return nats.Connect(ns.ClientURL(), opts...)
}

// A node without authentication given in-process users still lets
// unauthenticated clients in with every permission; the users log in
// in-process only, the system user lands in the system account (it may
// ask for the meta stepdown, not publish elsewhere), and a reload keeps
// them.
func TestInProcessUsersOnANodeWithoutAuthentication(t *testing.T) {
	users, err := NewInProcessUsers("drover.readable")
	if err != nil {
		t.Fatal(err)
	}
	cfg := ServerConfig{Name: "t", Listen: "127.0.0.1:-1", DataDir: t.TempDir(), InProcess: users}
	opts, err := Options(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if Secured(opts) {
		t.Error("Secured counts users who log in in-process only")
	}
	ns := startWith(t, cfg)
	anon, err := connectAs(ns, nil, false)
	if err != nil {
		t.Fatalf("an unauthenticated client: %v", err)
	}
	defer anon.Close()
	if err := anon.Publish("anything", nil); err != nil {
		t.Fatal(err)
	}
	if err := anon.Flush(); err != nil || anon.LastError() != nil {
		t.Fatalf("an unauthenticated client may not publish: %v %v", err, anon.LastError())
	}
	if nc, err := connectAs(ns, &users.System, false); err == nil {
		nc.Close()
		t.Fatal("the system user logged in over TCP")
	}
	if err := ns.ReloadOptions(mustOptions(t, cfg)); err != nil {
		t.Fatalf("reload: %v", err)
	}
	sys, err := connectAs(ns, &users.System, true)
	if err != nil {
		t.Fatalf("the system user in-process, after a reload: %v", err)
	}
	defer sys.Close()
	if acc := ns.SystemAccount(); acc == nil || acc.NumLocalConnections() == 0 {
		t.Error("the system user's connection is not in the system account")
	}
	errs := make(chan error, 1)
	sys.SetErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { errs <- err })
	if err := sys.Publish("drover.readable", nil); err != nil {
		t.Fatal(err)
	}
	_ = sys.Flush()
	if err := <-errs; !errors.Is(err, nats.ErrPermissionViolation) {
		t.Errorf("the system user published beyond the stepdown: %v", err)
	}
	reader, err := connectAs(ns, &users.Reader, true)
	if err != nil {
		t.Fatalf("the reader in-process: %v", err)
	}
	defer reader.Close()
	if _, err := reader.SubscribeSync("drover.readable"); err != nil {
		t.Fatal(err)
	}
	if err := reader.Flush(); err != nil || reader.LastError() != nil {
		t.Fatalf("the reader may not follow its subject: %v %v", err, reader.LastError())
	}
}

func mustOptions(t *testing.T, cfg ServerConfig) *server.Options {
	t.Helper()
	opts, err := Options(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return opts
}

// A node whose configuration authenticates clients keeps refusing
// unauthenticated ones with the in-process users added; options that
// authenticate without a file, or run in operator mode, cannot take them.
func TestInProcessUsersOnASecuredNode(t *testing.T) {
	users, err := NewInProcessUsers()
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(t.TempDir(), "nats.conf")
	if err := os.WriteFile(conf, []byte(`authorization { users = [ {user: api, password: secret} ] }`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := ServerConfig{Name: "t", Listen: "127.0.0.1:-1", DataDir: t.TempDir(), ConfigFile: conf, InProcess: users}
	if !Secured(mustOptions(t, cfg)) {
		t.Error("a node with a user is not secured")
	}
	ns := startWith(t, cfg)
	if nc, err := connectAs(ns, nil, false); err == nil {
		nc.Close()
		t.Fatal("an unauthenticated client got in")
	}
	if nc, err := connectAs(ns, &Login{User: "api", Password: "secret"}, false); err != nil {
		t.Fatalf("the configured user: %v", err)
	} else {
		nc.Close()
	}
	if nc, err := connectAs(ns, &users.System, true); err != nil {
		t.Fatalf("the system user in-process: %v", err)
	} else {
		nc.Close()
	}

	noFile := ServerConfig{Name: "t", DataDir: t.TempDir(), InProcess: users,
		Users: []*server.User{{Username: "api", Password: "secret"}}}
	if _, err := Options(noFile); !errors.Is(err, ErrInProcessUsers) {
		t.Errorf("users without a file: %v, want ErrInProcessUsers", err)
	}
}
