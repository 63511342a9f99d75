package postgres

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestValidateIdentifier(t *testing.T) {
	for _, tc := range []struct {
		in  string
		err string
	}{
		{"orders_by_date", ""},
		{"Orders By Date", ""},
		{`x"; DROP TABLE t; --`, ""},
		{"índice", ""},
		{strings.Repeat("a", 63), ""},
		{"", "empty"},
		{"a\x00b", "NUL"},
		{strings.Repeat("a", 64), "at most 63 bytes"},
		{strings.Repeat("é", 32), "at most 63 bytes"}, // 64 bytes
	} {
		err := ValidateIdentifier(tc.in)
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ValidateIdentifier(%q) = %v, want %q", tc.in, err, tc.err)
		}
	}
}

var createCases = []struct {
	name         string
	ix           Index
	concurrently bool
	want         string
	err          string
}{
	{
		name: "plain", concurrently: true,
		ix:   Index{Schema: "public", Name: "t_a", Table: "t", Method: "btree", Columns: []IndexColumn{{Name: "a"}}},
		want: `CREATE INDEX CONCURRENTLY "t_a" ON "public"."t" USING btree ("a")`,
	},
	{
		name: "unique, composite, sort options, partial", concurrently: true,
		ix: Index{Schema: "app", Name: "Recent", Table: "Events", Method: "btree", Unique: true, Predicate: "score > 0",
			Columns: []IndexColumn{{Name: "tenant"}, {Name: "created_at", Descending: true, NullsFirst: true}, {Name: "score", Descending: true, NullsFirst: false}, {Name: "label", NullsFirst: true}}},
		want: `CREATE UNIQUE INDEX CONCURRENTLY "Recent" ON "app"."Events" USING btree ("tenant", "created_at" DESC, "score" DESC NULLS LAST, "label" NULLS FIRST) WHERE score > 0`,
	},
	{
		name: "names are quoted, never spliced", concurrently: true,
		ix:   Index{Schema: `s"x`, Name: `x"; DROP TABLE t; --`, Table: `t" CASCADE`, Method: "gin", Columns: []IndexColumn{{Name: `c") WHERE (true`}}},
		want: `CREATE INDEX CONCURRENTLY "x""; DROP TABLE t; --" ON "s""x"."t"" CASCADE" USING gin ("c"") WHERE (true")`,
	},
	{
		name: "probe, without CONCURRENTLY",
		ix:   Index{Schema: "pg_temp", Name: "p", Table: "q", Method: "brin", Columns: []IndexColumn{{Name: "ts"}}, Predicate: "ts > now()"},
		want: `CREATE INDEX "p" ON "pg_temp"."q" USING brin ("ts") WHERE ts > now()`,
	},
	{
		name: "unknown method",
		ix:   Index{Schema: "public", Name: "i", Table: "t", Method: "btree; DROP TABLE t", Columns: []IndexColumn{{Name: "a"}}},
		err:  "not an index method",
	},
	{
		name: "no columns",
		ix:   Index{Schema: "public", Name: "i", Table: "t", Method: "btree"},
		err:  "at least one column",
	},
	{
		name: "empty column name",
		ix:   Index{Schema: "public", Name: "i", Table: "t", Method: "btree", Columns: []IndexColumn{{Name: ""}}},
		err:  "empty",
	},
	{
		name: "NUL in a name",
		ix:   Index{Schema: "public", Name: "i\x00", Table: "t", Method: "btree", Columns: []IndexColumn{{Name: "a"}}},
		err:  "NUL",
	},
}

func TestIndexCreateSQL(t *testing.T) {
	for _, tc := range createCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.ix.CreateSQL(tc.concurrently)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v\nwant %q", got, err, tc.want)
			}
		})
	}
}

func TestDropIndexSQL(t *testing.T) {
	if got, want := DropIndexSQL("public", `a"b`), `DROP INDEX CONCURRENTLY IF EXISTS "public"."a""b"`; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestCatalogIndexIndex(t *testing.T) {
	pred := "(score > 0)"
	for _, tc := range []struct {
		name string
		c    CatalogIndex
		want Index
		err  string
	}{
		{
			name: "sort options from indoption",
			c: CatalogIndex{Table: "t", Method: "btree", Unique: true, Predicate: &pred,
				Columns: []string{"a", "b", "c", "d"}, Options: []int16{0, 1, 3, 2}},
			want: Index{Schema: "s", Name: "i", Table: "t", Method: "btree", Unique: true, Predicate: pred, Columns: []IndexColumn{
				{Name: "a"}, {Name: "b", Descending: true}, {Name: "c", Descending: true, NullsFirst: true}, {Name: "d", NullsFirst: true}}},
		},
		{
			name: "full index",
			c:    CatalogIndex{Table: "t", Method: "gin", Columns: []string{"doc"}, Options: []int16{0}},
			want: Index{Schema: "s", Name: "i", Table: "t", Method: "gin", Columns: []IndexColumn{{Name: "doc"}}},
		},
		{
			name: "unsupported features",
			c:    CatalogIndex{Table: "t", Method: "btree", Columns: []string{""}, Options: []int16{0}, Unsupported: []string{"expression columns", "INCLUDE columns"}},
			err:  `"s"."i" has expression columns, INCLUDE columns`,
		},
		{
			name: "options do not match columns",
			c:    CatalogIndex{Table: "t", Method: "btree", Columns: []string{"a", "b"}, Options: []int16{0}},
			err:  "2 columns and 1 column options",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.c.Index("s", "i")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, %v\nwant %+v", got, err, tc.want)
			}
		})
	}
}

// A decoded index renders the sort options the catalog holds, and only the
// ones that differ from PostgreSQL's defaults.
func TestCatalogRoundTrip(t *testing.T) {
	c := CatalogIndex{Table: "t", Method: "btree", Columns: []string{"a", "b", "c", "d"}, Options: []int16{0, 1, 2, 3}}
	ix, err := c.Index("public", "i")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ix.CreateSQL(true)
	if want := `CREATE INDEX CONCURRENTLY "i" ON "public"."t" USING btree ("a", "b" DESC NULLS LAST, "c" NULLS FIRST, "d" DESC)`; err != nil || got != want {
		t.Fatalf("got %q, %v\nwant %q", got, err, want)
	}
}

func TestKeepsPredicate(t *testing.T) {
	pred := "((score > 0) AND (label IS NOT NULL))"
	other := "(score > 1)"
	def := `CREATE INDEX i ON public.t USING btree (a) WHERE ` + pred
	for _, tc := range []struct {
		name    string
		live    *string
		earlier string
		want    bool
	}{
		{"same predicate, other columns", &pred, `CREATE INDEX i ON public.t USING btree (b) WHERE ` + pred, true},
		{"same definition", &pred, def, true},
		{"other predicate", &other, def, false},
		{"no predicate now", nil, def, false},
		{"no predicate before", &pred, `CREATE INDEX i ON public.t USING btree (a)`, false},
	} {
		if got := (CatalogIndex{Predicate: tc.live}).KeepsPredicate(tc.earlier); got != tc.want {
			t.Errorf("%s: KeepsPredicate = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestSameKeys(t *testing.T) {
	base := Index{Schema: "s", Name: "i", Table: "t", Method: "btree", Columns: []IndexColumn{{Name: "a", Descending: true, NullsFirst: true}}}
	if !base.SameKeys(base) {
		t.Fatal("an index differs from itself")
	}
	for name, change := range map[string]func(*Index){
		"table":  func(ix *Index) { ix.Table = "u" },
		"method": func(ix *Index) { ix.Method = "hash" },
		"unique": func(ix *Index) { ix.Unique = true },
		"order":  func(ix *Index) { ix.Columns = []IndexColumn{{Name: "a", NullsFirst: true}} },
		"nulls":  func(ix *Index) { ix.Columns = []IndexColumn{{Name: "a", Descending: true}} },
		"column": func(ix *Index) { ix.Columns = append(slices.Clone(ix.Columns), IndexColumn{Name: "b"}) },
	} {
		other := base
		change(&other)
		if base.SameKeys(other) {
			t.Errorf("a different %s compares the same", name)
		}
	}
}

func TestIndexErrorAttribute(t *testing.T) {
	partial := Index{Columns: []IndexColumn{{Name: "a"}}, Predicate: "b > 0"}
	full := Index{Columns: []IndexColumn{{Name: "a"}}}
	for _, tc := range []struct {
		ix            Index
		code, message string
		want          string
	}{
		{full, "23505", `could not create unique index "i"`, "unique"},
		{partial, "42703", `column "a" does not exist`, "columns"},
		{partial, "42703", `column "b" does not exist`, "where"},
		{full, "42703", `column "b" does not exist`, "columns"},
		{full, "42P01", `relation "public.t" does not exist`, "table"},
		{full, "3F000", `schema "s" does not exist`, "schema"},
		{full, "42P07", `relation "i" already exists`, "name"},
		{full, "42704", `data type text has no default operator class for access method "gin"`, "method"},
		{full, "0A000", `access method "hash" does not support unique indexes`, "method"},
		{partial, "42601", `syntax error at or near "FROM"`, "where"},
		{partial, "42P17", `functions in index predicate must be marked IMMUTABLE`, "where"},
		{full, "42601", `syntax error`, "columns"},
		{full, "42501", `must be owner of table t`, "postgres"},
		{full, "XX000", `internal error`, "name"},
	} {
		if got := tc.ix.IndexErrorAttribute(tc.code, tc.message); got != tc.want {
			t.Errorf("IndexErrorAttribute(%s, %q) = %q, want %q", tc.code, tc.message, got, tc.want)
		}
	}
}

// splitIdentifiers takes the quoted identifiers out of a statement: what is
// left is the statement's own text, with "" where each one was.
func splitIdentifiers(stmt string) (skeleton string, idents []string, ok bool) {
	var b, id strings.Builder
	for i := 0; i < len(stmt); i++ {
		if stmt[i] != '"' {
			b.WriteByte(stmt[i])
			continue
		}
		id.Reset()
		for i++; ; i++ {
			if i >= len(stmt) {
				return "", nil, false // unterminated
			}
			if stmt[i] == '"' {
				if i+1 < len(stmt) && stmt[i+1] == '"' {
					id.WriteByte('"')
					i++
					continue
				}
				break
			}
			id.WriteByte(stmt[i])
		}
		idents = append(idents, id.String())
		b.WriteString(`""`)
	}
	return b.String(), idents, true
}

// Whatever the names hold, each stays one quoted identifier: the statement
// around them never changes.
func FuzzIndexCreateSQL(f *testing.F) {
	for _, tc := range createCases {
		if len(tc.ix.Columns) > 0 {
			f.Add(tc.ix.Schema, tc.ix.Name, tc.ix.Table, tc.ix.Columns[0].Name)
		}
	}
	f.Add("public", `a"b`, `"`, `""`)
	f.Fuzz(func(t *testing.T, schema, name, table, column string) {
		ix := Index{Schema: schema, Name: name, Table: table, Method: "btree", Columns: []IndexColumn{{Name: column, Descending: true, NullsFirst: true}}}
		stmt, err := ix.CreateSQL(true)
		valid := true
		for _, s := range []string{schema, name, table, column} {
			valid = valid && ValidateIdentifier(s) == nil
		}
		if err != nil {
			if valid {
				t.Fatalf("valid names refused: %v", err)
			}
			return
		}
		if !valid {
			t.Fatalf("invalid names accepted: %q", stmt)
		}
		skeleton, idents, ok := splitIdentifiers(stmt)
		if want := `CREATE INDEX CONCURRENTLY "" ON ""."" USING btree ("" DESC)`; !ok || skeleton != want {
			t.Fatalf("statement %q has the shape %q, want %q", stmt, skeleton, want)
		}
		if want := []string{name, schema, table, column}; !slices.Equal(idents, want) {
			t.Fatalf("identifiers %q, want %q", idents, want)
		}
	})
}
