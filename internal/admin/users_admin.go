package admin

import (
	"context"
	"database/sql"
	"strings"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/sqldb"
)

// UserFilter selects admin users to list.
type UserFilter struct {
	Role   artstore.Role
	Status string
	Query  string // text in the user name or email
	Limit  int
	Offset int
}

// UserList is a page of admin users by user name.
type UserList struct {
	Items   []User `json:"items"`
	Total   int64  `json:"total"`
	Limit   int    `json:"limit"`
	Offset  int    `json:"offset"`
	HasMore bool   `json:"has_more"`
}

// ListUsers lists admin users by user name.
func (s *Service) ListUsers(ctx context.Context, f UserFilter) (UserList, error) {
	const op = "admin.ListUsers"
	where, args := []string{"1 = 1"}, []any{}
	if f.Role != "" {
		if !f.Role.ValidUserRole() {
			return UserList{}, errs.E(op, errs.Invalid, errs.Msg("unknown role %q", errs.Brief(string(f.Role))))
		}
		where, args = append(where, "role = ?"), append(args, string(f.Role))
	}
	if f.Status != "" {
		if f.Status != "active" && f.Status != "disabled" {
			return UserList{}, errs.E(op, errs.Invalid, errs.Msg("status must be active or disabled"))
		}
		where, args = append(where, "status = ?"), append(args, f.Status)
	}
	if f.Query != "" {
		if sqldb.CheckText(f.Query) != nil || len(f.Query) > 200 {
			return UserList{}, errs.E(op, errs.Invalid, errs.Msg("q must be valid UTF-8 without NUL, of at most 200 bytes"))
		}
		pat := sqldb.LikeContains(strings.ToLower(f.Query))
		where, args = append(where, `(LOWER(username) LIKE ? ESCAPE '\' OR LOWER(email) LIKE ? ESCAPE '\')`), append(args, pat, pat)
	}
	cond := " WHERE " + strings.Join(where, " AND ")
	out := UserList{Items: []User{}, Limit: f.Limit, Offset: f.Offset}
	if err := s.db.QueryRowContext(ctx, s.db.Rebind(`SELECT COUNT(*) FROM admin_users`+cond), args...).Scan(&out.Total); err != nil {
		return UserList{}, sqldb.Err(op, err)
	}
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(`SELECT `+userColumns+` FROM admin_users`+cond+` ORDER BY username LIMIT ? OFFSET ?`), append(args, f.Limit, f.Offset)...)
	if err != nil {
		return UserList{}, sqldb.Err(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		u, _, err := scanUser(rows)
		if err != nil {
			return UserList{}, sqldb.Err(op, err)
		}
		out.Items = append(out.Items, u)
	}
	out.HasMore = int64(f.Offset+len(out.Items)) < out.Total
	return out, rows.Err()
}

// UserUpdate changes an admin user; nil fields are left alone.
type UserUpdate struct {
	Email  *string        `json:"email"`
	Role   *artstore.Role `json:"role"`
	Status *string        `json:"status"`
}

// UpdateUser changes an admin user. The bootstrap administrator stays an
// active super_admin.
func (s *Service) UpdateUser(ctx context.Context, id string, up UserUpdate) (User, error) {
	const op = "admin.UpdateUser"
	u, err := s.User(ctx, id)
	if err != nil {
		return User{}, errs.E(op, err)
	}
	if up.Email != nil {
		if err := validEmail(*up.Email); err != nil {
			return User{}, errs.E(op, err)
		}
		u.Email = *up.Email
	}
	if up.Role != nil {
		if !up.Role.ValidUserRole() {
			return User{}, errs.E(op, errs.Invalid, errs.Msg("role must be super_admin, admin or readonly"))
		}
		u.Role = *up.Role
	}
	if up.Status != nil {
		if *up.Status != "active" && *up.Status != "disabled" {
			return User{}, errs.E(op, errs.Invalid, errs.Msg("status must be active or disabled"))
		}
		u.Status = *up.Status
	}
	if u.Bootstrap && (u.Role != artstore.RoleSuperAdmin || u.Status != userStatusActive) {
		return User{}, errs.E(op, errs.Conflict, errs.Code("PROTECTED_ACCOUNT"), errs.Msg("the bootstrap administrator stays an active super_admin"))
	}
	u.UpdatedAt = s.clock()
	if _, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE admin_users SET email = ?, role = ?, status = ?, updated_at = ? WHERE id = ?`),
		u.Email, string(u.Role), u.Status, s.timeArg(u.UpdatedAt), u.ID); err != nil {
		return User{}, sqldb.Err(op, err)
	}
	return u, nil
}

// DeleteUser deletes an admin user. Nobody deletes themselves, and the
// bootstrap administrator is never deleted.
func (s *Service) DeleteUser(ctx context.Context, actorID, id string) error {
	const op = "admin.DeleteUser"
	u, err := s.User(ctx, id)
	if err != nil {
		return errs.E(op, err)
	}
	if u.Bootstrap {
		return errs.E(op, errs.Conflict, errs.Code("PROTECTED_ACCOUNT"), errs.Msg("the bootstrap administrator cannot be deleted"))
	}
	if id == actorID {
		return errs.E(op, errs.Conflict, errs.Code("SELF_DELETE"), errs.Msg("you cannot delete yourself"))
	}
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		for _, q := range []string{`DELETE FROM refresh_tokens WHERE user_id = ?`, `DELETE FROM admin_user_passwords WHERE user_id = ?`, `DELETE FROM admin_users WHERE id = ?`} {
			if _, err := tx.ExecContext(ctx, s.db.Rebind(q), id); err != nil {
				return err
			}
		}
		return nil
	})
}

// ResetPassword sets another user's password (policy and history apply)
// and lifts a lockout.
func (s *Service) ResetPassword(ctx context.Context, id, password string) error {
	u, err := s.User(ctx, id)
	if err != nil {
		return errs.E("admin.ResetPassword", err)
	}
	return s.setPassword(ctx, u, password)
}
