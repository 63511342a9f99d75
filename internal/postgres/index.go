package postgres

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// IndexMethods are the built-in index access methods, btree first (the
// default).
var IndexMethods = []string{"btree", "hash", "gist", "gin", "brin", "spgist"}

// maxIdentifierBytes is NAMEDATALEN-1: PostgreSQL silently truncates a longer
// name, so the index it made would not be found under the configured one.
const maxIdentifierBytes = 63

// Per-column flag bits of pg_index.indoption.
const (
	indoptionDesc       = 0x0001
	indoptionNullsFirst = 0x0002
)

// Index is an index on plain columns, as CREATE INDEX builds it.
type Index struct {
	Schema  string
	Name    string
	Table   string
	Method  string // one of IndexMethods
	Unique  bool
	Columns []IndexColumn
	// Predicate is the SQL after WHERE, passed through as the user wrote
	// it; "" for a full index.
	Predicate string
}

// IndexColumn is one key column and its sort order.
type IndexColumn struct {
	Name       string
	Descending bool
	NullsFirst bool
}

// defaultNulls reports whether NullsFirst is what PostgreSQL does anyway:
// nulls sort as larger than any value, so first exactly when descending.
func (c IndexColumn) defaultNulls() bool { return c.NullsFirst == c.Descending }

// ValidateIdentifier reports why s cannot name a schema, table, column or
// index, or nil. Any other text is fine: it is always quoted.
func ValidateIdentifier(s string) error {
	switch {
	case s == "":
		return errors.New("the name is empty")
	case strings.ContainsRune(s, 0):
		return fmt.Errorf("%q contains a NUL byte, which PostgreSQL names cannot hold", s)
	case len(s) > maxIdentifierBytes:
		return fmt.Errorf("%q is %d bytes long: PostgreSQL names hold at most %d bytes and the server would shorten it", s, len(s), maxIdentifierBytes)
	}
	return nil
}

// QualifiedName is "schema"."name", quoted.
func (ix Index) QualifiedName() string { return pgx.Identifier{ix.Schema, ix.Name}.Sanitize() }

// CreateSQL is the CREATE INDEX statement for ix. Every name is quoted by
// the driver; the method comes from IndexMethods; the predicate is the only
// text taken as written. Without concurrently it is for a probe inside a
// transaction, which CONCURRENTLY refuses.
func (ix Index) CreateSQL(concurrently bool) (string, error) {
	if !slices.Contains(IndexMethods, ix.Method) {
		return "", fmt.Errorf("%q is not an index method: use one of %s", ix.Method, strings.Join(IndexMethods, ", "))
	}
	if len(ix.Columns) == 0 {
		return "", errors.New("an index needs at least one column")
	}
	for _, name := range append([]string{ix.Schema, ix.Name, ix.Table}, ix.columnNames()...) {
		if err := ValidateIdentifier(name); err != nil {
			return "", err
		}
	}
	var b strings.Builder
	b.WriteString("CREATE ")
	if ix.Unique {
		b.WriteString("UNIQUE ")
	}
	b.WriteString("INDEX ")
	if concurrently {
		b.WriteString("CONCURRENTLY ")
	}
	b.WriteString(pgx.Identifier{ix.Name}.Sanitize() + " ON " + pgx.Identifier{ix.Schema, ix.Table}.Sanitize() + " USING " + ix.Method + " (")
	for i, c := range ix.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(pgx.Identifier{c.Name}.Sanitize())
		if c.Descending {
			b.WriteString(" DESC")
		}
		switch {
		case c.defaultNulls():
		case c.NullsFirst:
			b.WriteString(" NULLS FIRST")
		default:
			b.WriteString(" NULLS LAST")
		}
	}
	b.WriteString(")")
	if ix.Predicate != "" {
		b.WriteString(" WHERE " + ix.Predicate)
	}
	return b.String(), nil
}

// DropIndexSQL drops the index schema.name without blocking writes to its
// table, and succeeds when it is already gone.
func DropIndexSQL(schema, name string) string {
	return "DROP INDEX CONCURRENTLY IF EXISTS " + pgx.Identifier{schema, name}.Sanitize()
}

func (ix Index) columnNames() []string {
	names := make([]string, len(ix.Columns))
	for i, c := range ix.Columns {
		names[i] = c.Name
	}
	return names
}

// SameKeys reports whether two indexes of one name are built alike: table,
// method, uniqueness and columns. Predicates are compared by the caller, in
// the server's own spelling.
func (ix Index) SameKeys(other Index) bool {
	return ix.Table == other.Table && ix.Method == other.Method && ix.Unique == other.Unique && slices.Equal(ix.Columns, other.Columns)
}

// CatalogIndex is what the catalog says of an index (pg_index, pg_class,
// pg_am, pg_attribute).
type CatalogIndex struct {
	Table      string
	Valid      bool // false: a concurrent build failed or is still running
	Unique     bool
	Method     string
	Definition string  // pg_get_indexdef
	Predicate  *string // pg_get_expr(indpred), nil for a full index
	Columns    []string
	Options    []int16 // indoption, one per key column
	// Unsupported lists what the index has that Index cannot express
	// (expression or INCLUDE columns, operator classes, collations, ...).
	Unsupported []string
}

// Index turns the catalog's description into an Index, or says why it
// cannot be one.
func (c CatalogIndex) Index(schema, name string) (Index, error) {
	if len(c.Unsupported) > 0 {
		return Index{}, fmt.Errorf("index %s has %s, which mcpai_postgres_index does not manage", pgx.Identifier{schema, name}.Sanitize(), strings.Join(c.Unsupported, ", "))
	}
	if len(c.Columns) == 0 || len(c.Options) != len(c.Columns) {
		return Index{}, fmt.Errorf("the catalog lists %d columns and %d column options for index %s", len(c.Columns), len(c.Options), pgx.Identifier{schema, name}.Sanitize())
	}
	ix := Index{Schema: schema, Name: name, Table: c.Table, Method: c.Method, Unique: c.Unique}
	if c.Predicate != nil {
		ix.Predicate = *c.Predicate
	}
	for i, col := range c.Columns {
		ix.Columns = append(ix.Columns, IndexColumn{Name: col, Descending: c.Options[i]&indoptionDesc != 0, NullsFirst: c.Options[i]&indoptionNullsFirst != 0})
	}
	return ix, nil
}

// KeepsPredicate reports whether the predicate of an earlier definition is
// the live one, so the user's spelling of it still stands: pg_get_indexdef
// ends in " WHERE <pg_get_expr(indpred)>" for a partial index.
func (c CatalogIndex) KeepsPredicate(earlierDefinition string) bool {
	return c.Predicate != nil && strings.HasSuffix(earlierDefinition, " WHERE "+*c.Predicate)
}

// IndexErrorAttribute names the attribute a failed CREATE INDEX points at,
// from the server's SQLSTATE and message.
func (ix Index) IndexErrorAttribute(code, message string) string {
	predicateOr := func(other string) string {
		if ix.Predicate != "" {
			return "where"
		}
		return other
	}
	switch code {
	case "23505", "23502": // duplicate key, or null in a unique build (NULLS NOT DISTINCT)
		return "unique"
	case "42703": // undefined column: one of the key columns, or one the predicate names
		for _, c := range ix.Columns {
			if strings.Contains(message, `"`+c.Name+`"`) { // the server quotes without escaping
				return "columns"
			}
		}
		return predicateOr("columns")
	case "42P01", "42809": // no such table, or not a table
		return "table"
	case "3F000":
		return "schema"
	case "42P07": // another relation has the name
		return "name"
	case "42704", "0A000": // no operator class for the method, or a feature the method lacks
		return "method"
	case "42601", "42883", "42804", "42P17", "42P10", "42725", "22P02", "42P20":
		// Syntax, functions, types, mutability: only the predicate is SQL.
		return predicateOr("columns")
	case "42501":
		return "postgres"
	}
	return "name"
}
