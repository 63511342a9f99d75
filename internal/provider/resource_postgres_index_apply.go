package provider

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mcpai/terraform-provider-mcpai/internal/postgres"
	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
)

// mcpai_postgres_index's apply steps: the concurrent build (or the adoption
// of an index of the same definition), the catalog lookups that verify it,
// and the cleanup of a failed build.

// pgServer is a connected server, for messages.
type pgServer struct {
	pm     postgresModel
	tunnel *remote.Client
}

// createIndex builds ix concurrently, or adopts an index of the same
// definition, and returns what the catalog then says of it. An invalid
// index in the way is dropped first; a failed build is dropped again.
func createIndex(ctx context.Context, conn *pgx.Conn, srv pgServer, ix postgres.Index) (postgres.CatalogIndex, diag.Diagnostics) {
	const summary = "Unable to Create PostgreSQL Index"
	var diags diag.Diagnostics
	qualified, target := ix.QualifiedName(), srv.pm.target()
	stmt, err := ix.CreateSQL(true)
	if err != nil {
		diags.AddError(summary, err.Error()+".")
		return postgres.CatalogIndex{}, diags
	}
	found, err := lookupIndex(ctx, conn, ix.Schema, ix.Name)
	if err != nil {
		diags.Append(postgresError(summary, srv.pm, srv.tunnel, err))
		return postgres.CatalogIndex{}, diags
	}
	switch {
	case found != nil && !found.Valid:
		tflog.Warn(ctx, "dropping an invalid index left by a failed concurrent build before rebuilding it", map[string]any{"index": qualified, "server": target, "definition": found.Definition})
		if err := execStatement(ctx, conn, postgres.DropIndexSQL(ix.Schema, ix.Name)); err != nil {
			diags.AddAttributeError(path.Root("name"), summary, fmt.Sprintf(
				"An invalid index %s (left by a failed concurrent build) is in the way on %s, and dropping it failed: the server said: %s. Drop it by hand (DROP INDEX CONCURRENTLY %s), then apply again.",
				qualified, target, serverMessage(err), qualified))
			return postgres.CatalogIndex{}, diags
		}
	case found != nil:
		same, why := sameIndex(ctx, conn, *found, ix)
		if same {
			tflog.Info(ctx, "adopting an existing index with the same definition", map[string]any{"index": qualified, "server": target})
			return *found, diags
		}
		diags.AddAttributeError(path.Root("name"), summary, fmt.Sprintf(
			"An index %s already exists on %s with another definition%s:\n  %s\nThe configuration asks for:\n  %s\nImport it to manage it as it is (terraform import ... %s/%s.%s), drop it, or choose another name.",
			qualified, target, why, found.Definition, stmt, target, ix.Schema, ix.Name))
		return postgres.CatalogIndex{}, diags
	}

	if err := buildConcurrently(ctx, conn, ix, stmt); err != nil {
		diags.Append(buildError(ctx, conn, srv, ix, stmt, err))
		return postgres.CatalogIndex{}, diags
	}
	created, err := lookupIndex(ctx, conn, ix.Schema, ix.Name)
	switch {
	case err != nil:
		diags.Append(postgresError(summary, srv.pm, srv.tunnel, err))
	case created == nil || !created.Valid:
		diags.AddAttributeError(path.Root("name"), summary, fmt.Sprintf(
			"%s succeeded on %s, but the catalog then shows no valid index %s. Run terraform apply again.", stmt, target, qualified))
	default:
		tflog.Info(ctx, "postgres index built", map[string]any{"index": qualified, "server": target})
		return *created, diags
	}
	return postgres.CatalogIndex{}, diags
}

// sameIndex reports whether the existing valid index is the one ix
// describes; if not, why is a short reason for the message.
func sameIndex(ctx context.Context, conn *pgx.Conn, found postgres.CatalogIndex, ix postgres.Index) (same bool, why string) {
	existing, err := found.Index(ix.Schema, ix.Name)
	if err != nil {
		return false, " (" + err.Error() + ")"
	}
	if !existing.SameKeys(ix) {
		return false, ""
	}
	switch {
	case ix.Predicate == "" && found.Predicate == nil:
		return true, ""
	case ix.Predicate == "" || found.Predicate == nil:
		return false, ""
	}
	pred, err := serverPredicate(ctx, conn, ix)
	if err != nil {
		return false, " (comparing the predicates failed: " + serverMessage(err) + ")"
	}
	return pred == *found.Predicate, ""
}

// buildError describes a failed CREATE INDEX CONCURRENTLY, after dropping
// the invalid index a failed concurrent build leaves behind.
func buildError(ctx context.Context, conn *pgx.Conn, srv pgServer, ix postgres.Index, stmt string, err error) diag.Diagnostic {
	const summary = "Unable to Create PostgreSQL Index"
	cleanup := dropFailedBuild(ctx, conn, ix)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) && !errors.Is(err, context.DeadlineExceeded) {
		return postgresError(summary, srv.pm, srv.tunnel, fmt.Errorf("%w. %s", err, cleanup))
	}
	attribute, hint := path.Root("timeouts").AtName("create"), ""
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		hint = " The build ran out of time: raise timeouts.create (large tables take long, and a concurrent build first waits for the transactions running on the table)."
	default:
		name := ix.IndexErrorAttribute(pgErr.Code, pgErr.Message)
		attribute = path.Root(name)
		switch name {
		case "unique":
			hint = " Remove the duplicates, or set unique = false."
		case "where":
			hint = " Fix the predicate: it is SQL passed to the server as written."
		}
	}
	return diag.NewAttributeErrorDiagnostic(attribute, summary, fmt.Sprintf(
		"Building index %s on %s failed: the server said: %s\n\nThe statement was:\n  %s\n\n%s%s",
		ix.QualifiedName(), srv.pm.target(), serverMessage(err), stmt, cleanup, hint))
}

// buildConcurrently runs a CREATE INDEX CONCURRENTLY. Two concurrent
// builds on one table deadlock (each waits for the other's transaction to
// end) and the server cancels one with 40P01; that one's invalid index is
// dropped and the build tried again, after the other has had time to finish.
func buildConcurrently(ctx context.Context, conn *pgx.Conn, ix postgres.Index, stmt string) error {
	const deadlockDetected = "40P01"
	wait := 500 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := execStatement(ctx, conn, stmt)
		var pgErr *pgconn.PgError
		if err == nil || attempt == 6 || !errors.As(err, &pgErr) || pgErr.Code != deadlockDetected {
			return err
		}
		tflog.Info(ctx, "concurrent index builds on one table deadlocked; retrying", map[string]any{"index": ix.QualifiedName(), "attempt": attempt})
		dropFailedBuild(ctx, conn, ix)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait + time.Duration(rand.Int64N(int64(wait)))): //nolint:gosec // jitter, not security
		}
		wait *= 2
	}
}

// dropFailedBuild drops what a failed concurrent build left: an invalid
// index of the name, never a valid one (another's, made meanwhile).
func dropFailedBuild(ctx context.Context, conn *pgx.Conn, ix postgres.Index) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	if conn.IsClosed() {
		return "The connection was lost, so an invalid index may be left behind: the next apply drops and rebuilds it."
	}
	left, err := lookupIndex(ctx, conn, ix.Schema, ix.Name)
	if err == nil && left != nil && !left.Valid {
		err = execStatement(ctx, conn, postgres.DropIndexSQL(ix.Schema, ix.Name))
	}
	if err != nil {
		return fmt.Sprintf("Dropping the invalid index the failed build left also failed (%s): the next apply drops and rebuilds it, or run DROP INDEX CONCURRENTLY %s.", serverMessage(err), ix.QualifiedName())
	}
	return "Nothing was left behind: the failed build was dropped."
}

// serverMessage is the server's message and detail, or the error.
func serverMessage(err error) string {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err.Error()
	}
	msg := pgErr.Message
	if pgErr.Detail != "" {
		msg += " (" + pgErr.Detail + ")"
	}
	if pgErr.Hint != "" {
		msg += " Hint: " + pgErr.Hint
	}
	return msg + " [SQLSTATE " + pgErr.Code + "]"
}

// execStatement runs one statement through the extended protocol: outside
// any transaction (CONCURRENTLY needs that), and one statement only, so no
// ';' in a predicate can add another. When ctx ends, the server is asked to
// cancel the statement, so a build stops (and can be cleaned up) instead of
// running on unseen; the connection is dropped only if that does not end it
// within indexCancelGrace.
func execStatement(ctx context.Context, conn *pgx.Conn, sql string) error {
	execCtx, drop := context.WithCancel(context.WithoutCancel(ctx))
	defer drop()
	finished := make(chan struct{})
	var watcher sync.WaitGroup
	watcher.Go(func() {
		select {
		case <-ctx.Done():
			cancelCtx, cancel := context.WithTimeout(execCtx, indexCancelGrace)
			defer cancel()
			_ = conn.PgConn().CancelRequest(cancelCtx) //nolint:contextcheck // the statement's own context has ended
			select {
			case <-finished:
			case <-cancelCtx.Done():
				drop()
			}
		case <-finished:
		}
	})
	_, err := conn.PgConn().ExecParams(execCtx, sql, nil, nil, nil, nil).Close()
	close(finished)
	// No cancel request may reach the server after this returns: it would
	// cancel the next statement on the connection.
	watcher.Wait()
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("%w: %w", ctx.Err(), err)
	}
	return err
}

// indexQuery describes the index schema.name in one round trip: its table,
// validity, uniqueness, method, definition, predicate, key columns and their
// sort options, and anything mcpai_postgres_index cannot express.
const indexQuery = `SELECT t.relname, i.indisvalid, i.indisunique, am.amname, pg_get_indexdef(c.oid),
  pg_get_expr(i.indpred, i.indrelid),
  ARRAY(SELECT coalesce(a.attname::text, '') FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
        LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE k.n <= i.indnkeyatts ORDER BY k.n),
  ARRAY(SELECT o FROM unnest(i.indoption::int2[]) WITH ORDINALITY AS u(o, n) WHERE u.n <= i.indnkeyatts ORDER BY u.n),
  array_remove(ARRAY[
    CASE WHEN i.indexprs IS NOT NULL THEN 'expression columns' END,
    CASE WHEN i.indnatts > i.indnkeyatts THEN 'INCLUDE columns' END,
    CASE WHEN EXISTS (SELECT 1 FROM unnest(i.indclass::oid[]) AS oc(oid) JOIN pg_opclass o ON o.oid = oc.oid WHERE NOT o.opcdefault)
      THEN 'non-default operator classes' END,
    CASE WHEN EXISTS (SELECT 1 FROM unnest(i.indkey::int2[], i.indcollation::oid[]) AS u(attnum, coll)
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = u.attnum WHERE u.coll <> a.attcollation)
      THEN 'non-default collations' END,
    CASE WHEN to_jsonb(i) ->> 'indnullsnotdistinct' = 'true' THEN 'NULLS NOT DISTINCT' END
  ], NULL)
FROM pg_class c
JOIN pg_namespace ns ON ns.oid = c.relnamespace
JOIN pg_index i ON i.indexrelid = c.oid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_am am ON am.oid = c.relam
WHERE ns.nspname = $1 AND c.relname = $2`

// lookupIndex returns what the catalog says of schema.name, or nil when
// there is no such index.
func lookupIndex(ctx context.Context, conn *pgx.Conn, schemaName, name string) (*postgres.CatalogIndex, error) {
	var c postgres.CatalogIndex
	err := conn.QueryRow(ctx, indexQuery, schemaName, name).Scan(&c.Table, &c.Valid, &c.Unique, &c.Method, &c.Definition,
		&c.Predicate, &c.Columns, &c.Options, &c.Unsupported)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// serverPredicate returns ix's predicate as the server stores it
// (pg_get_expr), so two spellings can be compared: the same partial index
// is built on an empty temporary copy of the table, in a transaction that
// is rolled back.
func serverPredicate(ctx context.Context, conn *pgx.Conn, ix postgres.Index) (string, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return "", err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // nothing is kept
	probe := ix
	probe.Schema, probe.Table, probe.Name, probe.Unique = "pg_temp", "mcpai_index_probe", "mcpai_index_probe_idx", false
	stmt, err := probe.CreateSQL(false)
	if err != nil {
		return "", err
	}
	if _, err := tx.Exec(ctx, "CREATE TEMPORARY TABLE mcpai_index_probe (LIKE "+pgx.Identifier{ix.Schema, ix.Table}.Sanitize()+") ON COMMIT DROP"); err != nil {
		return "", err
	}
	if err := execStatement(ctx, conn, stmt); err != nil {
		return "", err
	}
	var pred string
	err = tx.QueryRow(ctx, "SELECT pg_get_expr(indpred, indrelid) FROM pg_index WHERE indexrelid = 'pg_temp.mcpai_index_probe_idx'::regclass").Scan(&pred)
	return pred, err
}
