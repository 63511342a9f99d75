package acctest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Postgres connects straight to h's server as PostgresUser, as the tests'
// independent view of it; the connection closes when the test ends.
func (h Host) Postgres(t testing.TB) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", h.PostgresUser, h.Address, h.PostgresPort, h.PostgresDatabase))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Password = h.PostgresPassword
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) }) //nolint:errcheck // test cleanup
	return conn
}

// PostgresSetting is the server's current_setting(name).
func (h Host) PostgresSetting(t testing.TB, name string) string {
	t.Helper()
	var v string
	if err := h.Postgres(t).QueryRow(context.Background(), "SELECT current_setting($1)", name).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// PostgresAutoConf is what postgresql.auto.conf sets, as the server reads
// it: name=setting, a line each.
func (h Host) PostgresAutoConf(t testing.TB) string {
	t.Helper()
	rows, err := h.Postgres(t).Query(context.Background(),
		"SELECT name || '=' || setting FROM pg_file_settings WHERE sourcefile LIKE '%/postgresql.auto.conf' ORDER BY seqno")
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// ResetPostgres empties postgresql.auto.conf and reloads, whatever a test
// left; a pending shared_buffers needs the restart the sandbox does on up.
func (h Host) ResetPostgres(t testing.TB) {
	t.Helper()
	conn := h.Postgres(t)
	for _, q := range []string{"ALTER SYSTEM RESET ALL", "SELECT pg_reload_conf()"} {
		if _, err := conn.Exec(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
}

// CreateIndexTable makes a table for one test, with rows: tenant and
// created_at for a composite key, score with nulls, dup with duplicates. It
// is dropped, with its indexes, when the test ends.
func (h Host) CreateIndexTable(t testing.TB, table string) {
	t.Helper()
	conn := h.Postgres(t)
	ident := pgx.Identifier{table}.Sanitize()
	for _, q := range []string{
		"DROP TABLE IF EXISTS " + ident,
		"CREATE TABLE " + ident + " (id bigint PRIMARY KEY, tenant int NOT NULL, created_at timestamptz NOT NULL, score int, label text, dup int, tags text[])",
		"INSERT INTO " + ident + ` SELECT g, g % 7, now() - g * interval '1 minute', CASE WHEN g % 5 = 0 THEN NULL ELSE g END,
		   CASE WHEN g % 11 = 0 THEN NULL ELSE 'label ' || g END, g % 3, ARRAY['t' || (g % 4)] FROM generate_series(1, 500) AS g`,
		"ANALYZE " + ident,
	} {
		if _, err := conn.Exec(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		if _, err := conn.Exec(context.Background(), "DROP TABLE IF EXISTS "+ident); err != nil {
			t.Errorf("dropping %s: %v", ident, err)
		}
	})
}

// Index is the server's own view of an index: OID 0 when there is none.
type Index struct {
	OID        uint32
	Valid      bool
	Definition string
}

// Index is the index name in h's database, schema public.
func (h Host) Index(t testing.TB, name string) Index {
	t.Helper()
	var li Index
	err := h.Postgres(t).QueryRow(context.Background(), `SELECT c.oid, i.indisvalid, pg_get_indexdef(c.oid)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_index i ON i.indexrelid = c.oid
		WHERE n.nspname = 'public' AND c.relname = $1`, name).Scan(&li.OID, &li.Valid, &li.Definition)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		t.Fatal(err)
	}
	return li
}

// IndexGone is an error when h's server still has the index name.
func (h Host) IndexGone(t testing.TB, name string) error {
	if li := h.Index(t, name); li.OID != 0 {
		return fmt.Errorf("index %s is still there after destroy: %s", name, li.Definition)
	}
	return nil
}

// WantIndex is an error unless h's server has a valid index name as
// definition.
func (h Host) WantIndex(t testing.TB, name, definition string) error {
	li := h.Index(t, name)
	if li.OID == 0 || !li.Valid || li.Definition != definition {
		return fmt.Errorf("index %s on the server is %+v, want a valid %s", name, li, definition)
	}
	return nil
}
