package natsutil

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// BenchmarkKVCreate measures what --sync-always costs a write of desired
// state: a KV Create of a 1 KiB value (an app definition's size) on a file
// bucket, one at a time (the latency a POST waits for, twice: the app and
// its deployment) and from many clients at once (throughput), with NATS'
// default fsync policy and with SyncAlways. The store goes to
// DROVER_BENCH_DIR (default: the system's temporary directory): measure on
// the disk production uses, not a tmpfs.
//
//	go test ./internal/natsutil -run '^$' -bench KVCreate -benchtime 2000x
func BenchmarkKVCreate(b *testing.B) {
	for _, syncAlways := range []bool{false, true} {
		for _, parallel := range []bool{false, true} {
			b.Run(fmt.Sprintf("sync-always=%v/parallel=%v", syncAlways, parallel), func(b *testing.B) {
				kv := benchBucket(b, syncAlways)
				value := []byte(strings.Repeat("x", 1024))
				var n atomic.Int64
				create := func() {
					if _, err := kv.Create(context.Background(), fmt.Sprintf("app-%d", n.Add(1)), value); err != nil {
						b.Fatal(err)
					}
				}
				b.ResetTimer()
				if parallel {
					b.SetParallelism(16)
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							create()
						}
					})
					return
				}
				for b.Loop() {
					create()
				}
			})
		}
	}
}

func benchBucket(b *testing.B, syncAlways bool) jetstream.KeyValue {
	b.Helper()
	dir, err := os.MkdirTemp(os.Getenv("DROVER_BENCH_DIR"), "drover-sync-bench")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = os.RemoveAll(dir) })
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ns, err := StartServer(ServerConfig{Name: "bench", DataDir: dir, SyncAlways: syncAlways}, logger)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	nc, err := ConnectInProcess(ns, "bench", logger)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	kv, err := js.CreateKeyValue(context.Background(), jetstream.KeyValueConfig{Bucket: "apps", History: 64, Storage: jetstream.FileStorage})
	if err != nil {
		b.Fatal(err)
	}
	return kv
}
