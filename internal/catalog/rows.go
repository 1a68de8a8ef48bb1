package catalog

import (
	"context"
	"database/sql"
	"strings"
)

const (
	// maxParams bounds the placeholders of one statement, below SQLite's
	// limit of 32766 and PostgreSQL's of 65535.
	maxParams = 16000
	// maxRows bounds the rows of one multi-row statement, which keeps the
	// statements short enough to parse quickly.
	maxRows = 500
)

// deleteIDs runs head followed by a parenthesised list of ids, in chunks.
func (c *Catalog) deleteIDs(ctx context.Context, tx *sql.Tx, head string, ids []any) error {
	for len(ids) > 0 {
		n := min(len(ids), maxRows)
		if _, err := tx.ExecContext(ctx, c.q(head+"("+placeholders(n)+")"), ids[:n]...); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// insertRows writes rows with multi-row statements head + tmpl, tmpl, … +
// tail: inserts, or updates from a VALUES list. When scan is set, the statements return rows (tail holds a
// RETURNING clause) and scan reads each.
func (c *Catalog) insertRows(ctx context.Context, tx *sql.Tx, head, tmpl, tail string, rows [][]any, scan func(*sql.Rows) error) error {
	if len(rows) == 0 {
		return nil
	}
	per := min(maxRows, maxParams/len(rows[0]))
	for len(rows) > 0 {
		n := min(len(rows), per)
		var b strings.Builder
		b.WriteString(head)
		args := make([]any, 0, n*len(rows[0]))
		for i, r := range rows[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(tmpl)
			args = append(args, r...)
		}
		b.WriteString(tail)
		query := c.q(b.String())
		if scan == nil {
			if _, err := tx.ExecContext(ctx, query, args...); err != nil {
				return err
			}
		} else if err := queryEach(ctx, tx, query, args, scan); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// queryEach runs query and calls scan for each row it returns.
func queryEach(ctx context.Context, tx *sql.Tx, query string, args []any, scan func(*sql.Rows) error) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	return eachRow(rows, err, scan)
}

// eachRow calls scan for each of rows, which it closes, unless err, the
// error of the query that returned them, is set.
func eachRow(rows *sql.Rows, err error, scan func(*sql.Rows) error) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// placeholders returns n comma-separated '?'.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}
