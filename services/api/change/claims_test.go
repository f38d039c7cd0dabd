package change

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/events/natsbus"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/api/apierr"
	"github.com/drover/drover/services/api/readmodel"
	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go/jetstream"
)

// claimWriter is a Writer on a fresh JetStream, with its read model.
func claimWriter(t *testing.T) (*Writer, *natsbus.Bus) {
	t.Helper()
	bus := testutil.RunJetStream(t).Bus(t)
	rm, err := readmodel.New(t.Context(), bus, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rm.Close)
	w := NewWriter(bus, rm, testutil.Logger(t), 5*time.Second, time.Now, marathon.DefaultPortRange(), nil)
	return w, bus
}

// putClaim claims port for app directly in the bucket, as another replica.
func putClaim(t *testing.T, bus *natsbus.Bus, port int, app string) uint64 {
	t.Helper()
	data, err := events.Encode(events.PortClaim{V: events.Version, App: app})
	if err != nil {
		t.Fatal(err)
	}
	rev, err := bus.PortClaims.Create(t.Context(), events.PortClaimKey(port), data)
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

// claimant is the app claiming port, "" when none does.
func claimant(t *testing.T, bus *natsbus.Bus, port int) string {
	t.Helper()
	e, err := bus.PortClaims.Get(t.Context(), events.PortClaimKey(port))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	c, err := events.Decode[events.PortClaim](e.Value())
	if err != nil {
		t.Fatal(err)
	}
	return c.App
}

func TestClaimPort(t *testing.T) {
	ctx := context.Background()
	w, bus := claimWriter(t)
	if _, err := w.writeApp(ctx, Op{ID: "/holder", Next: hostApp("/holder", 1, 10002)}, "d1"); err != nil {
		t.Fatal(err)
	}
	putClaim(t, bus, 10001, "/ghost")  // an app never written
	putClaim(t, bus, 10002, "/holder") // an app holding its port

	if _, err := w.claimPort(ctx, 10000, "/a"); err != nil {
		t.Fatalf("a free port: %v", err)
	}
	if _, err := w.claimPort(ctx, 10000, "/b"); !errors.Is(err, errTaken) {
		t.Errorf("a port another app claimed: %v, want it taken", err)
	}
	if _, err := w.claimPort(ctx, 10001, "/b"); !errors.Is(err, errTaken) {
		t.Errorf("a fresh claim of an app not written (yet): %v, want it taken", err)
	}

	w.claimGrace = 0 // every claim is past its grace from now on
	c, err := w.claimPort(ctx, 10001, "/b")
	if err != nil {
		t.Fatalf("a stale claim: %v, want it taken over", err)
	}
	if got := claimant(t, bus, 10001); got != "/b" || c.app != "/b" {
		t.Errorf("port 10001 claimed by %q, want /b", got)
	}
	if _, err := w.claimPort(ctx, 10002, "/b"); !errors.Is(err, errTaken) {
		t.Errorf("an old claim whose app holds the port: %v, want it taken", err)
	}
	if _, err := w.claimPort(ctx, 10001, "/c"); err != nil {
		t.Errorf("/b's claim, /b not written: %v, want it taken over", err)
	}
	// Two takeovers of one stale claim: the second, at the revision it
	// read, loses.
	entry, err := bus.PortClaims.Get(ctx, events.PortClaimKey(10000))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.claimPort(ctx, 10000, "/d"); err != nil {
		t.Fatal(err)
	}
	if _, err := bus.PortClaims.Update(ctx, events.PortClaimKey(10000), []byte(`{"v":1,"app":"/e"}`), entry.Revision()); !isCASError(err) {
		t.Errorf("a takeover at a revision taken over since: %v, want a compare-and-set error", err)
	}
	if got := claimant(t, bus, 10000); got != "/d" {
		t.Errorf("port 10000 claimed by %q, want /d", got)
	}
	// A release at the revision before a takeover leaves the new claim.
	w.releaseClaims(ctx, []claim{{port: 10000, app: "/a", rev: entry.Revision()}})
	if got := claimant(t, bus, 10000); got != "/d" {
		t.Errorf("after a stale release, port 10000 claimed by %q, want /d", got)
	}
}

// makeChange runs Make, forced, with a build that returns ops as they are.
func makeChange(t *testing.T, w *Writer, ops ...Op) (*Staged, error) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/v2/apps", nil)
	c := echo.New().NewContext(req, httptest.NewRecorder())
	return w.Make(c, true, func(*readmodel.State) (*Spec, error) { return &Spec{Ops: ops}, nil })
}

func TestMakeClaimsAndReleases(t *testing.T) {
	w, bus := claimWriter(t)
	putClaim(t, bus, 10000, "/elsewhere") // another replica's change in flight

	p, err := makeChange(t, w, Op{ID: "/a", Next: hostApp("/a", 1, 0, 0), MustBeNew: true})
	if err != nil {
		t.Fatal(err)
	}
	a := p.Ops[0].Next
	if got := a.ServicePorts(); len(got) != 2 || got[0] != 10001 || got[1] != 10002 {
		t.Fatalf("/a's ports %v, want 10001 and 10002 (10000 is claimed)", got)
	}
	for _, port := range a.ServicePorts() {
		if got := claimant(t, bus, port); got != "/a" {
			t.Errorf("port %d claimed by %q, want /a", port, got)
		}
	}
	if len(w.book.reserved) != 0 {
		t.Errorf("reservations left: %v", w.book.reserved)
	}

	// A write that fails after its ports were claimed releases them: /a
	// exists, unknown to this build.
	_, err = makeChange(t, w, Op{ID: "/a", Next: hostApp("/a", 1, 0), MustBeNew: true})
	var exists *apierr.AppExistsError
	if !errors.As(err, &exists) {
		t.Fatalf("POST of an existing app: %v, want AppExistsError", err)
	}
	if got := claimant(t, bus, 10003); got != "" {
		t.Errorf("port 10003 of the failed write claimed by %q, want released", got)
	}

	// A group change whose second app loses its race: the first keeps its
	// claim, the second's is released.
	_, err = makeChange(t, w, Op{ID: "/b", Next: hostApp("/b", 1, 0)}, Op{ID: "/a", Next: hostApp("/a", 1, 0)})
	var conflict *apierr.ConflictError
	if !errors.As(err, &conflict) {
		t.Fatalf("group with a lost race: %v, want a 409", err)
	}
	if got, other := claimant(t, bus, 10003), claimant(t, bus, 10004); got != "/b" || other != "" {
		t.Errorf("ports 10003, 10004 claimed by %q, %q, want /b and none", got, other)
	}

	// An update that drops a port releases its claim; a delete releases the rest.
	prev := readAppEntry(t, bus, "/a")
	next := hostApp("/a", 1, 10001)
	if _, err := makeChange(t, w, Op{ID: "/a", Prev: prev, Next: next}); err != nil {
		t.Fatal(err)
	}
	if got, kept := claimant(t, bus, 10002), claimant(t, bus, 10001); got != "" || kept != "/a" {
		t.Errorf("after dropping 10002: claims %q (10002), %q (10001), want none and /a", got, kept)
	}
	if _, err := makeChange(t, w, Op{ID: "/a", Prev: readAppEntry(t, bus, "/a")}); err != nil {
		t.Fatal(err)
	}
	if got := claimant(t, bus, 10001); got != "" {
		t.Errorf("after the delete, 10001 claimed by %q", got)
	}
	if got := claimant(t, bus, 10000); got != "/elsewhere" {
		t.Errorf("another app's claim: %q, want it left alone", got)
	}
}

// readAppEntry is the app as the bucket holds it now.
func readAppEntry(t *testing.T, bus *natsbus.Bus, id string) *readmodel.AppEntry {
	t.Helper()
	e, err := bus.Apps.Get(t.Context(), events.AppKey(id))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := events.Decode[events.AppRecord](e.Value())
	if err != nil {
		t.Fatal(err)
	}
	return &readmodel.AppEntry{Rec: rec, Rev: e.Revision()}
}

// TestMakeGivesUpOnClaimedPorts: a change whose every free port is
// claimed by other changes in flight finds the range exhausted, and
// writes nothing.
func TestMakeGivesUpOnClaimedPorts(t *testing.T) {
	w, bus := claimWriter(t)
	w.ports = marathon.PortRange{Min: 10000, Max: 10001}
	putClaim(t, bus, 10000, "/x")
	putClaim(t, bus, 10001, "/y")
	_, err := makeChange(t, w, Op{ID: "/a", Next: hostApp("/a", 1, 0), MustBeNew: true})
	var exhausted *marathon.PortRangeExhaustedError
	if !errors.As(err, &exhausted) {
		t.Fatalf("every port claimed elsewhere: %v, want the range exhausted", err)
	}
	if _, err := bus.Apps.Get(t.Context(), events.AppKey("/a")); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("/a: %v, want it not written", err)
	}
}
