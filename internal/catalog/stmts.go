package catalog

import (
	"context"
	"database/sql"
	"sync"
)

// stmts keeps the prepared statements of searches. SQLite's driver
// prepares every statement it runs anew, and parsing and planning a
// search's few statements costs about a tenth of the search; PostgreSQL's
// driver keeps its own cache, so there the statements run as they are.
//
// A statement seen for the first time runs unprepared while it is prepared
// in the background, on a connection of its own: preparing it on the
// search's connection would tie the statement to that connection, and
// waiting for another while holding one could exhaust the pool. The next
// search finds it ready, and each connection then prepares it once. The
// texts of statements are few, one per shape of query, but they come from
// requests, so the cache stops growing at maxStmts.
type stmts struct {
	db      *sql.DB
	mu      sync.Mutex
	ready   map[string]*sql.Stmt
	pending map[string]bool
}

const maxStmts = 512

func newStmts(db *sql.DB) *stmts {
	return &stmts{db: db, ready: map[string]*sql.Stmt{}, pending: map[string]bool{}}
}

// query runs query in tx, prepared when it can be.
func (s *stmts) query(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	if s == nil {
		return tx.QueryContext(ctx, query, args...)
	}
	if st := s.get(query); st != nil {
		return tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return tx.QueryContext(ctx, query, args...)
}

// queryRow is query for a single row.
func (s *stmts) queryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if s == nil {
		return tx.QueryRowContext(ctx, query, args...)
	}
	if st := s.get(query); st != nil {
		return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, query, args...)
}

// get returns the prepared statement of query, or nil after starting to
// prepare it.
func (s *stmts) get(query string) *sql.Stmt {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.ready[query]; st != nil {
		return st
	}
	if !s.pending[query] && len(s.ready)+len(s.pending) < maxStmts {
		s.pending[query] = true
		go s.prepare(query)
	}
	return nil
}

func (s *stmts) prepare(query string) {
	st, err := s.db.PrepareContext(context.Background(), query)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pending, query)
	if err == nil {
		s.ready[query] = st
	}
	// A statement that does not prepare fails when it runs, with the
	// error its search reports; it is tried again next time.
}
