package provider

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/jackc/pgx/v5"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
	"github.com/mcpai/terraform-provider-mcpai/internal/postgres"
)

const accIndexAddr = "mcpai_postgres_index.test"

func TestPostgresIndexSchema(t *testing.T) {
	var resp resource.SchemaResponse
	newPostgresIndexResource().Schema(context.Background(), resource.SchemaRequest{}, &resp)
	if resp.Diagnostics.HasError() {
		t.Fatal(resp.Diagnostics)
	}
	if diags := resp.Schema.ValidateImplementation(context.Background()); diags.HasError() {
		t.Fatal(diags)
	}
}

// The model and the index convert both ways; unset nulls mean PostgreSQL's
// default for the order, and the state then says so.
func TestPostgresIndexModelRoundTrip(t *testing.T) {
	ctx := context.Background()
	col := func(name, order string, nulls types.String) indexColumnModel {
		return indexColumnModel{Name: types.StringValue(name), Order: types.StringValue(order), Nulls: nulls}
	}
	cols, diags := types.ListValueFrom(ctx, types.ObjectType{AttrTypes: indexColumnAttrTypes}, []indexColumnModel{
		col("tenant", "asc", types.StringNull()),
		col("created_at", "desc", types.StringValue("last")),
		col("score", "desc", types.StringNull()),
		col("label", "asc", types.StringValue("first")),
	})
	m := postgresIndexModel{Schema: types.StringValue("app"), Name: types.StringValue("recent"), Table: types.StringValue("events"),
		Method: types.StringValue("btree"), Unique: types.BoolValue(true), Where: types.StringValue("score > 0"), Columns: cols}
	ix := indexFrom(ctx, m, &diags)
	if diags.HasError() {
		t.Fatal(diags)
	}
	want := postgres.Index{Schema: "app", Name: "recent", Table: "events", Method: "btree", Unique: true, Predicate: "score > 0", Columns: []postgres.IndexColumn{
		{Name: "tenant"}, {Name: "created_at", Descending: true}, {Name: "score", Descending: true, NullsFirst: true}, {Name: "label", NullsFirst: true}}}
	if fmt.Sprint(ix) != fmt.Sprint(want) {
		t.Fatalf("indexFrom = %+v\nwant %+v", ix, want)
	}
	var back postgresIndexModel
	back.setIndex(ix, &diags)
	var got []indexColumnModel
	diags.Append(back.Columns.ElementsAs(ctx, &got, false)...)
	if diags.HasError() {
		t.Fatal(diags)
	}
	wantNulls := []string{"last", "last", "first", "first"}
	for i, c := range got {
		if c.Nulls.ValueString() != wantNulls[i] {
			t.Errorf("column %d: nulls = %s, want %s", i, c.Nulls, wantNulls[i])
		}
	}
	if back.Where.ValueString() != "score > 0" || !back.Unique.ValueBool() || back.Table.ValueString() != "events" {
		t.Errorf("setIndex = %+v", back)
	}
	if again := indexFrom(ctx, back, &diags); fmt.Sprint(again) != fmt.Sprint(want) {
		t.Errorf("round trip = %+v", again)
	}
}

func TestPostgresIndexImportObject(t *testing.T) {
	t.Setenv("PGUSER", "app")
	t.Setenv("PGPASSWORD", "s3cret")
	t.Setenv("PGSSLMODE", "require")
	obj, diags := postgresObjectFromEnv(context.Background(), "[::1]:6543", "shop")
	m := postgresModelFrom(context.Background(), obj, &diags)
	if diags.HasError() {
		t.Fatal(diags)
	}
	if m.target() != "[::1]:6543/shop" || m.User.ValueString() != "app" || m.Password.ValueString() != "s3cret" || m.SSLMode.ValueString() != "require" {
		t.Fatalf("import object = %+v", m)
	}
}

func pgExec(t *testing.T, conn *pgx.Conn, q string) {
	t.Helper()
	if _, err := conn.Exec(context.Background(), q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// makeInvalidIndex leaves what a failed concurrent build leaves: an invalid
// index named name (a unique build over duplicates fails late).
func makeInvalidIndex(t *testing.T, h acctest.Host, table, name string) {
	t.Helper()
	q := fmt.Sprintf("CREATE UNIQUE INDEX CONCURRENTLY %s ON %s (dup)", pgx.Identifier{name}.Sanitize(), pgx.Identifier{table}.Sanitize())
	if _, err := h.Postgres(t).Exec(context.Background(), q); err == nil {
		t.Fatalf("%s succeeded; it should fail on duplicates", q)
	}
	if li := h.Index(t, name); li.OID == 0 || li.Valid {
		t.Fatalf("after the failed build %s is %+v, want an invalid index", name, li)
	}
}

// indexGone is a CheckDestroy that asks the server.
func indexGone(t *testing.T, h acctest.Host, name string) tfresource.TestCheckFunc {
	return func(*terraform.State) error { return h.IndexGone(t, name) }
}

// wantIndex is a check that asks the server for a valid index name as
// definition.
func wantIndex(t *testing.T, h acctest.Host, name, definition string) tfresource.TestCheckFunc {
	return func(*terraform.State) error { return h.WantIndex(t, name, definition) }
}

func indexConfig(t *testing.T, h acctest.Host, body string) string {
	return acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "mcpai_postgres_index" "test" {
  postgres = %s
%s
}
`, pgBlock(h, h.Address), body)
}

func TestAccPostgresIndex_lifecycle(t *testing.T) {
	h := pgHost(t)
	const table, name = "mcpai_acc_index_events", "mcpai_acc_recent"
	h.CreateIndexTable(t, table)
	body := func(where string) string {
		return fmt.Sprintf(`  name  = %q
  table = %q
  columns = [
    { name = "tenant" },
    { name = "created_at", order = "desc", nulls = "last" },
  ]
  where = %q`, name, table, where)
	}
	def := "CREATE INDEX " + name + " ON public." + table + " USING btree (tenant, created_at DESC NULLS LAST) WHERE ((score > 0) AND (label IS NOT NULL))"
	var oid uint32
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             indexGone(t, h, name),
		Steps: []tfresource.TestStep{
			{
				Config: indexConfig(t, h, body("score > 0 AND label IS NOT NULL")),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(accIndexAddr, tfjsonpath.New("id"), knownvalue.StringExact("public."+name)),
					statecheck.ExpectKnownValue(accIndexAddr, tfjsonpath.New("valid"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(accIndexAddr, tfjsonpath.New("definition"), knownvalue.StringExact(def)),
					statecheck.ExpectKnownValue(accIndexAddr, tfjsonpath.New("schema"), knownvalue.StringExact("public")),
					statecheck.ExpectKnownValue(accIndexAddr, tfjsonpath.New("method"), knownvalue.StringExact("btree")),
					statecheck.ExpectKnownValue(accIndexAddr, tfjsonpath.New("unique"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(accIndexAddr, tfjsonpath.New("columns"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectExact(map[string]knownvalue.Check{"name": knownvalue.StringExact("tenant"), "order": knownvalue.StringExact("asc"), "nulls": knownvalue.StringExact("last")}),
						knownvalue.ObjectExact(map[string]knownvalue.Check{"name": knownvalue.StringExact("created_at"), "order": knownvalue.StringExact("desc"), "nulls": knownvalue.StringExact("last")}),
					})),
					// The user's spelling of the predicate stays.
					statecheck.ExpectKnownValue(accIndexAddr, tfjsonpath.New("where"), knownvalue.StringExact("score > 0 AND label IS NOT NULL")),
				},
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(s *terraform.State) error {
					if err := wantIndex(t, h, name, def)(s); err != nil {
						return err
					}
					oid = h.Index(t, name).OID
					return nil
				},
			},
			{
				// The same predicate spelt otherwise changes only the state:
				// the server is asked, and the index is not rebuilt.
				Config: indexConfig(t, h, body("(score > 0) and (label is not null)")),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(accIndexAddr, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					if got := h.Index(t, name).OID; got != oid {
						return fmt.Errorf("the index was rebuilt (oid %d, was %d)", got, oid)
					}
					return nil
				},
			},
			{
				// An index dropped behind Terraform's back is drift.
				PreConfig:          func() { pgExec(t, h.Postgres(t), "DROP INDEX "+name) },
				Config:             indexConfig(t, h, body("(score > 0) and (label is not null)")),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: indexConfig(t, h, body("(score > 0) and (label is not null)")),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(accIndexAddr, plancheck.ResourceActionCreate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: wantIndex(t, h, name, def),
			},
			{
				// Another index under the name: the plan replaces it.
				PreConfig: func() {
					conn := h.Postgres(t)
					pgExec(t, conn, "DROP INDEX "+name)
					pgExec(t, conn, "CREATE INDEX "+name+" ON "+table+" (score)")
				},
				Config: indexConfig(t, h, body("(score > 0) and (label is not null)")),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(accIndexAddr, plancheck.ResourceActionDestroyBeforeCreate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: wantIndex(t, h, name, def),
			},
			{
				// A different predicate is a different index.
				Config: indexConfig(t, h, body("score > 10")),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(accIndexAddr, plancheck.ResourceActionDestroyBeforeCreate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: wantIndex(t, h, name, strings.Replace(def, "((score > 0) AND (label IS NOT NULL))", "(score > 10)", 1)),
			},
			{
				PreConfig: func() {
					t.Setenv("PGUSER", h.PostgresUser)
					t.Setenv("PGPASSWORD", h.PostgresPassword)
					t.Setenv("PGSSLMODE", "disable")
				},
				ResourceName:      accIndexAddr,
				ImportState:       true,
				ImportStateId:     fmt.Sprintf("%s:%d/%s/public.%s", h.Address, h.PostgresPort, h.PostgresDatabase, name),
				ImportStateVerify: true,
				// The catalog holds the predicate in the server's spelling;
				// the check below asks for exactly that.
				ImportStateVerifyIgnore: []string{"where"},
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					if len(states) != 1 || states[0].Attributes["where"] != "(score > 10)" {
						return fmt.Errorf("imported where = %q, want the server's (score > 10)", states[0].Attributes["where"])
					}
					return nil
				},
			},
		},
	})
}

// Through an SSH tunnel to the server's loopback address; a gin index.
func TestAccPostgresIndex_ssh(t *testing.T) {
	h := pgHost(t)
	const table, name = "mcpai_acc_index_tags", "mcpai_acc_tags"
	h.CreateIndexTable(t, table)
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             indexGone(t, h, name),
		Steps: []tfresource.TestStep{{
			Config: acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "mcpai_postgres_index" "test" {
  ssh      = { host = %q }
  postgres = %s
  name     = %q
  table    = %q
  method   = "gin"
  columns  = [{ name = "tags" }]
}
`, h.Address, pgBlock(h, "127.0.0.1"), name, table),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(accIndexAddr, tfjsonpath.New("valid"), knownvalue.Bool(true)),
				statecheck.ExpectKnownValue(accIndexAddr, tfjsonpath.New("columns").AtSliceIndex(0).AtMapKey("nulls"), knownvalue.StringExact("last")),
			},
			ConfigPlanChecks: tfresource.ConfigPlanChecks{
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			Check: wantIndex(t, h, name, "CREATE INDEX "+name+" ON public."+table+" USING gin (tags)"),
		}},
	})
}

// An invalid index left by a failed concurrent build is dropped and rebuilt,
// at create and when one appears later under the managed name.
func TestAccPostgresIndex_invalidRebuilt(t *testing.T) {
	h := pgHost(t)
	const table, name = "mcpai_acc_index_invalid", "mcpai_acc_rebuilt"
	h.CreateIndexTable(t, table)
	makeInvalidIndex(t, h, table, name)
	def := "CREATE INDEX " + name + " ON public." + table + " USING btree (tenant)"
	config := indexConfig(t, h, fmt.Sprintf("  name = %q\n  table = %q\n  columns = [{ name = \"tenant\" }]", name, table))
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             indexGone(t, h, name),
		Steps: []tfresource.TestStep{
			{
				Config: config,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: wantIndex(t, h, name, def),
			},
			{
				PreConfig: func() {
					pgExec(t, h.Postgres(t), "DROP INDEX "+name)
					makeInvalidIndex(t, h, table, name)
				},
				Config: config,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(accIndexAddr, plancheck.ResourceActionCreate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: wantIndex(t, h, name, def),
			},
		},
	})
}

// A unique build over duplicates fails with the server's message, and the
// invalid index it leaves is dropped.
func TestAccPostgresIndex_failedBuild(t *testing.T) {
	h := pgHost(t)
	const table, name = "mcpai_acc_index_failed", "mcpai_acc_failed"
	h.CreateIndexTable(t, table)
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []tfresource.TestStep{{
			Config:      indexConfig(t, h, fmt.Sprintf("  name = %q\n  table = %q\n  unique = true\n  columns = [{ name = \"dup\" }]", name, table)),
			ExpectError: regexp.MustCompile(`Unable\s+to\s+Create\s+PostgreSQL\s+Index[\s\S]*could\s+not\s+create\s+unique\s+index[\s\S]*is\s+duplicated[\s\S]*23505[\s\S]*Nothing\s+was\s+left\s+behind[\s\S]*set\s+unique\s+=\s+false`),
		}},
	})
	if li := h.Index(t, name); li.OID != 0 {
		t.Fatalf("the failed build left %+v", li)
	}
}

// A build that runs out of time is cancelled on the server, and the invalid
// index it leaves is dropped: here the build waits for a writer that keeps
// its transaction open past timeouts.create.
func TestAccPostgresIndex_timeout(t *testing.T) {
	h := pgHost(t)
	const table, name = "mcpai_acc_index_timeout", "mcpai_acc_timeout"
	h.CreateIndexTable(t, table)
	writer, err := h.Postgres(t).Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := writer.Exec(context.Background(), "UPDATE "+table+" SET score = score WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	// The writer finishes a while after the timeout, so the cleanup (which
	// waits for it too) can go on.
	release := time.AfterFunc(8*time.Second, func() { writer.Rollback(context.Background()) }) //nolint:errcheck // test
	t.Cleanup(func() { release.Stop() })
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []tfresource.TestStep{{
			Config:      indexConfig(t, h, fmt.Sprintf("  name = %q\n  table = %q\n  columns = [{ name = \"tenant\" }]\n  timeouts = { create = \"3s\" }", name, table)),
			ExpectError: regexp.MustCompile(`canceling\s+statement\s+due\s+to\s+user\s+request[\s\S]*Nothing\s+was\s+left\s+behind[\s\S]*ran\s+out\s+of\s+time`),
		}},
	})
	if li := h.Index(t, name); li.OID != 0 {
		t.Fatalf("the cancelled build left %+v", li)
	}
}

// A name is always one quoted identifier: this makes an index literally so
// named, and the table survives.
func TestAccPostgresIndex_injection(t *testing.T) {
	h := pgHost(t)
	const table = "mcpai_acc_index_inject"
	name := `x"; DROP TABLE ` + table + `; --`
	h.CreateIndexTable(t, table)
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             indexGone(t, h, name),
		Steps: []tfresource.TestStep{{
			Config: indexConfig(t, h, fmt.Sprintf("  name = %s\n  table = %q\n  columns = [{ name = \"score\" }]", strconv.Quote(name), table)),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(accIndexAddr, tfjsonpath.New("id"), knownvalue.StringExact("public."+name)),
			},
			ConfigPlanChecks: tfresource.ConfigPlanChecks{
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			Check: func(s *terraform.State) error {
				if err := wantIndex(t, h, name, `CREATE INDEX "x""; DROP TABLE `+table+`; --" ON public.`+table+` USING btree (score)`)(s); err != nil {
					return err
				}
				var n int
				if err := h.Postgres(t).QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil || n != 500 {
					return fmt.Errorf("the table did not survive: %d rows, %w", n, err)
				}
				return nil
			},
		}},
	})
}

// An index of the name that exists already is adopted when it is the same
// (the predicate compared as the server reads it), and refused otherwise.
func TestAccPostgresIndex_existing(t *testing.T) {
	h := pgHost(t)
	const table, name = "mcpai_acc_index_existing", "mcpai_acc_existing"
	h.CreateIndexTable(t, table)
	pgExec(t, h.Postgres(t), "CREATE INDEX "+name+" ON "+table+" (tenant, score DESC) WHERE score > 0")
	oid := h.Index(t, name).OID
	// nulls = "last" makes it another index: DESC sorts nulls first.
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []tfresource.TestStep{{
			Config:      indexConfig(t, h, fmt.Sprintf("  name = %q\n  table = %q\n  columns = [{ name = \"tenant\" }, { name = \"score\", order = \"desc\", nulls = \"last\" }]\n  where = \"(score > 0)\"", name, table)),
			ExpectError: regexp.MustCompile(`already\s+exists[\s\S]*another\s+definition[\s\S]*USING\s+btree\s+\(tenant,\s+score\s+DESC\)\s+WHERE\s+\(score\s+>\s+0\)[\s\S]*"score"\s+DESC\s+NULLS\s+LAST\)\s+WHERE\s+\(score\s+>\s+0\)[\s\S]*Import\s+it`),
		}},
	})
	if got := h.Index(t, name).OID; got != oid {
		t.Fatalf("the existing index was touched (oid %d, was %d)", got, oid)
	}
	// The same, now: adopted, not rebuilt.
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             indexGone(t, h, name),
		Steps: []tfresource.TestStep{{
			Config: indexConfig(t, h, fmt.Sprintf("  name = %q\n  table = %q\n  columns = [{ name = \"tenant\" }, { name = \"score\", order = \"desc\" }]\n  where = \"(score > 0)\"", name, table)),
			ConfigPlanChecks: tfresource.ConfigPlanChecks{
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			Check: func(*terraform.State) error {
				if got := h.Index(t, name).OID; got != oid {
					return fmt.Errorf("the index was rebuilt (oid %d, was %d)", got, oid)
				}
				return nil
			},
		}},
	})
}

// Each bad input fails with a clear error naming the attribute, and leaves
// no index and the table as it was.
func TestAccPostgresIndex_badInputs(t *testing.T) {
	h := pgHost(t)
	const table, name = "mcpai_acc_index_bad", "mcpai_acc_bad"
	h.CreateIndexTable(t, table)
	with := func(attrs string) string {
		return indexConfig(t, h, fmt.Sprintf("  name = %q\n  table = %q\n%s", name, table, attrs))
	}
	cases := []struct {
		name, config, want string
	}{
		{"empty name", indexConfig(t, h, fmt.Sprintf("  name = \"\"\n  table = %q\n  columns = [{ name = \"tenant\" }]", table)), `Invalid PostgreSQL Name[\s\S]*empty`},
		{"NUL in a column", with(`  columns = [{ name = "ten\u0000ant" }]`), `Invalid PostgreSQL Name[\s\S]*NUL`},
		{"name too long", indexConfig(t, h, fmt.Sprintf("  name = %q\n  table = %q\n  columns = [{ name = \"tenant\" }]", strings.Repeat("n", 64), table)), `at most 63 bytes`},
		{"no columns", with(`  columns = []`), `at least 1`},
		{"unknown method", with("  method = \"bitmap\"\n  columns = [{ name = \"tenant\" }]"), `value must be one of`},
		{"unique gin", with("  method = \"gin\"\n  unique = true\n  columns = [{ name = \"tags\" }]"), `Unique Index Needs btree`},
		{"ordered hash", with("  method = \"hash\"\n  columns = [{ name = \"tenant\", order = \"desc\" }]"), `Index Method Is Not Ordered`},
		{"multi-column hash", with("  method = \"hash\"\n  columns = [{ name = \"tenant\" }, { name = \"score\" }]"), `Hash Index Has One Column`},
		{"empty predicate", with("  where = \"\"\n  columns = [{ name = \"tenant\" }]"), `string length must be at least 1`},
		{"missing table", indexConfig(t, h, fmt.Sprintf("  name = %q\n  table = \"mcpai_no_such_table\"\n  columns = [{ name = \"tenant\" }]", name)), `relation "public.mcpai_no_such_table" does not exist[\s\S]*42P01`},
		{"missing column", with(`  columns = [{ name = "nope" }]`), `column "nope" does not exist`},
		{"predicate syntax", with("  where = \"score >\"\n  columns = [{ name = \"tenant\" }]"), `syntax error[\s\S]*Fix the predicate`},
		{"predicate adds a statement", with(fmt.Sprintf("  where = \"true; DROP TABLE %s\"\n  columns = [{ name = \"tenant\" }]", table)), `cannot insert multiple commands into a prepared statement`},
		{"no operator class", with("  method = \"gin\"\n  columns = [{ name = \"tenant\" }]"), `no default operator class for access method "gin"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tfresource.Test(t, tfresource.TestCase{
				ProtoV6ProviderFactories: testAccProviders,
				Steps: []tfresource.TestStep{{
					Config:      tc.config,
					ExpectError: regexp.MustCompile(strings.ReplaceAll(tc.want, " ", `\s+`)),
				}},
			})
			if li := h.Index(t, name); li.OID != 0 {
				t.Fatalf("an index was left: %+v", li)
			}
			var n int
			if err := h.Postgres(t).QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil || n != 500 {
				t.Fatalf("the table changed: %d rows, %v", n, err)
			}
		})
	}
}

// A wrong password: a clear error that does not repeat the secret.
func TestAccPostgresIndex_wrongPassword(t *testing.T) {
	h := pgHost(t)
	const secret = "not-the-password-8152"
	// As a real configuration would: Terraform itself prints the source
	// line of a diagnostic, so a literal would show there whatever the
	// provider says.
	config := `
variable "pg_password" {
  type      = string
  sensitive = true
  default   = "` + secret + `"
}
` + strings.Replace(indexConfig(t, h, "  name = \"mcpai_acc_pw\"\n  table = \"t\"\n  columns = [{ name = \"a\" }]"),
		strconv.Quote(h.PostgresPassword), "var.pg_password", 1)
	var got error
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		// ExpectError cannot say "does not contain": the error is checked here.
		ErrorCheck: func(err error) error {
			got = err
			return nil
		},
		Steps: []tfresource.TestStep{{Config: config}},
	})
	switch {
	case got == nil:
		t.Fatal("a wrong password was accepted")
	case strings.Contains(got.Error(), secret):
		t.Fatalf("the error shows the password: %v", got)
	case !regexp.MustCompile(`Unable\s+to\s+Connect\s+to\s+PostgreSQL[\s\S]*password\s+authentication\s+failed[\s\S]*refused\s+the\s+password`).MatchString(got.Error()):
		t.Fatalf("unclear error: %v", got)
	}
}
