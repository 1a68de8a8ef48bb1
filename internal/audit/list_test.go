package audit_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/artstore/artstore/internal/audit"
	"github.com/artstore/artstore/internal/errs"
)

// fixture is the log most list tests read, in the order it is appended.
var fixture = []audit.Record{
	{Actor: "alice", Action: "file.upload", Target: "f1", Outcome: audit.OutcomeSuccess},
	{Actor: "bob", Action: "file.upload", Target: "f2", Outcome: audit.OutcomeSuccess},
	{Actor: "alice", Action: "file.delete", Target: "f1", Outcome: audit.OutcomeDenied},
	{Actor: "carol", Action: "auth.token", Outcome: audit.OutcomeFailure},
	{Actor: "bob", Action: "file.delete", Target: "f2", Outcome: audit.OutcomeSuccess},
	{Actor: "alice", Action: "file.finalize", Target: "f1", Outcome: audit.OutcomeSuccess},
}

// appendFixture appends the fixture and returns the records as stored,
// indexed by seq (element 0 is unused). The records are appended a little
// apart so that each has its own time, which the time filters rely on.
func appendFixture(t *testing.T, l *audit.Log) []audit.Record {
	t.Helper()
	out := []audit.Record{{}}
	for _, r := range fixture {
		out = append(out, appendOK(t, l, r))
		time.Sleep(2 * time.Millisecond)
	}
	return out
}

func TestList(t *testing.T) {
	dialects(t, func(t *testing.T, dsn string) {
		l := openLog(t, openDB(t, dsn), testKey)
		recs := appendFixture(t, l)
		at := func(seq int64) *time.Time { t := recs[seq].At; return &t }
		justAfter := func(seq int64) *time.Time { t := recs[seq].At.Add(time.Nanosecond); return &t }

		cases := []struct {
			name    string
			f       audit.Filter
			want    []int64
			total   int64
			hasMore bool
		}{
			{"everything", audit.Filter{}, []int64{6, 5, 4, 3, 2, 1}, 6, false},
			{"actor", audit.Filter{Actor: "alice"}, []int64{6, 3, 1}, 3, false},
			{"action", audit.Filter{Action: "file.delete"}, []int64{5, 3}, 2, false},
			{"target", audit.Filter{Target: "f2"}, []int64{5, 2}, 2, false},
			{"empty target is no filter", audit.Filter{Target: ""}, []int64{6, 5, 4, 3, 2, 1}, 6, false},
			{"outcome success", audit.Filter{Outcome: audit.OutcomeSuccess}, []int64{6, 5, 2, 1}, 4, false},
			{"outcome denied", audit.Filter{Outcome: audit.OutcomeDenied}, []int64{3}, 1, false},
			{"outcome failure", audit.Filter{Outcome: audit.OutcomeFailure}, []int64{4}, 1, false},
			{"actor and action", audit.Filter{Actor: "alice", Action: "file.delete"}, []int64{3}, 1, false},
			{"no match", audit.Filter{Actor: "mallory"}, []int64{}, 0, false},
			{"since is inclusive", audit.Filter{Since: at(3)}, []int64{6, 5, 4, 3}, 4, false},
			{"since within a microsecond", audit.Filter{Since: justAfter(3)}, []int64{6, 5, 4}, 3, false},
			{"until is exclusive", audit.Filter{Until: at(3)}, []int64{2, 1}, 2, false},
			{"until within a microsecond", audit.Filter{Until: justAfter(3)}, []int64{3, 2, 1}, 3, false},
			{"since and until", audit.Filter{Since: at(2), Until: at(5)}, []int64{4, 3, 2}, 3, false},
			{"time and actor", audit.Filter{Actor: "alice", Since: at(2)}, []int64{6, 3}, 2, false},
			{"first page", audit.Filter{Limit: 2}, []int64{6, 5}, 6, true},
			{"middle page", audit.Filter{Limit: 2, Offset: 2}, []int64{4, 3}, 6, true},
			{"last page", audit.Filter{Limit: 2, Offset: 4}, []int64{2, 1}, 6, false},
			{"filtered page", audit.Filter{Actor: "alice", Limit: 2, Offset: 1}, []int64{3, 1}, 3, false},
			{"past the end", audit.Filter{Offset: 10}, []int64{}, 6, false},
			{"largest limit", audit.Filter{Limit: 1000}, []int64{6, 5, 4, 3, 2, 1}, 6, false},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				p, err := l.List(context.Background(), c.f)
				if err != nil {
					t.Fatal(err)
				}
				if got := seqs(p.Items); !reflect.DeepEqual(got, c.want) || p.Total != c.total || p.HasMore != c.hasMore {
					t.Errorf("List = seqs %v, total %d, has_more %v; want %v, %d, %v", got, p.Total, p.HasMore, c.want, c.total, c.hasMore)
				}
				wantLimit := c.f.Limit
				if wantLimit == 0 {
					wantLimit = 100
				}
				if p.Limit != wantLimit || p.Offset != c.f.Offset {
					t.Errorf("page limit %d, offset %d; want %d, %d", p.Limit, p.Offset, wantLimit, c.f.Offset)
				}
				for _, r := range p.Items {
					if !reflect.DeepEqual(r, recs[r.Seq]) {
						t.Errorf("listed %+v, appended %+v", r, recs[r.Seq])
					}
				}
			})
		}
	})
}

func TestListRejects(t *testing.T) {
	now := time.Now()
	earlier := now.Add(-time.Hour)
	cases := []struct {
		name string
		f    audit.Filter
	}{
		{"negative limit", audit.Filter{Limit: -1}},
		{"limit over 1000", audit.Filter{Limit: 1001}},
		{"negative offset", audit.Filter{Offset: -1}},
		{"unknown outcome", audit.Filter{Outcome: "maybe"}},
		{"until before since", audit.Filter{Since: &now, Until: &earlier}},
		{"long actor", audit.Filter{Actor: strings.Repeat("a", audit.MaxFieldBytes+1)}},
		{"invalid UTF-8", audit.Filter{Target: "\xff"}},
	}
	dialects(t, func(t *testing.T, dsn string) {
		l := openLog(t, openDB(t, dsn), testKey)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				if _, err := l.List(context.Background(), c.f); !errs.Is(errs.Invalid, err) {
					t.Errorf("List = %v, want an Invalid error", err)
				}
			})
		}
	})
}
