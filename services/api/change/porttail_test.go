package change

import (
	"slices"
	"testing"
)

func TestPortTailBase(t *testing.T) {
	var tail portTail
	if b := tail.base(7); b.seq != 7 || b.extra != nil {
		t.Fatalf("empty tail: %+v, want the read model's revision", b)
	}
	// A change staged on 7 wrote revisions 8 and 9; the next on 9 wrote 10.
	tail.wrote(7, []tailWrite{{rev: 8, id: "/a", ports: []int{10000}}, {rev: 9, id: "/b"}})
	tail.wrote(9, []tailWrite{{rev: 10, id: "/c", ports: []int{10001, 10002}}})
	for _, tt := range []struct {
		rm, seq uint64
		extra   []int
		touches string
	}{
		{rm: 7, seq: 10, extra: []int{10000, 10001, 10002}, touches: "/a"},
		{rm: 8, seq: 10, extra: []int{10001, 10002}, touches: "/c"},
		{rm: 10, seq: 10},
		{rm: 12, seq: 12}, // others wrote since: the read model alone
	} {
		b := tail.base(tt.rm)
		if b.seq != tt.seq || !slices.Equal(b.extra, tt.extra) {
			t.Errorf("base(%d) = seq %d extra %v, want %d %v", tt.rm, b.seq, b.extra, tt.seq, tt.extra)
		}
		if tt.touches != "" && !b.touches([]Op{{ID: tt.touches}}) {
			t.Errorf("base(%d) does not see %s written", tt.rm, tt.touches)
		}
		if b.touches([]Op{{ID: "/other"}}) {
			t.Errorf("base(%d) sees /other written", tt.rm)
		}
	}

	// A run broken by another writer starts again; a read model behind
	// its start stages on itself.
	tail.wrote(15, []tailWrite{{rev: 16, id: "/d", ports: []int{10003}}})
	if b := tail.base(12); b.seq != 12 || b.extra != nil {
		t.Errorf("read model behind the run: %+v, want revision 12 alone", b)
	}
	if b := tail.base(15); b.seq != 16 || !slices.Equal(b.extra, []int{10003}) {
		t.Errorf("read model at the run's start: %+v, want 16 with 10003", b)
	}
}
