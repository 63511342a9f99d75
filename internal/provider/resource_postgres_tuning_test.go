package provider

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

const accPgAddr = "mcpai_postgres_tuning.test"

// pgHost is the sandbox host whose PostgreSQL the tuning tests use.
func pgHost(t *testing.T) acctest.Host {
	t.Helper()
	h := acctest.FirstHost(t)
	if h.PostgresPort == 0 {
		t.Fatal("the sandbox hosts run no PostgreSQL; run scripts/sandbox.sh up 2")
	}
	return h
}

func pgBlock(h acctest.Host, host string) string {
	return fmt.Sprintf(`{ host = %q, port = %d, user = %q, password = %q, database = %q, sslmode = "disable" }`,
		host, h.PostgresPort, h.PostgresUser, h.PostgresPassword, h.PostgresDatabase)
}

func pgTuningConfig(t *testing.T, h acctest.Host, extra, settings string) string {
	return acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "mcpai_postgres_tuning" "test" {
  postgres = %s
  %s
  settings = {
%s
  }
}
`, pgBlock(h, h.Address), extra, settings)
}

const pgGuideSettings = `
    work_mem                 = "64MB"
    maintenance_work_mem     = "512MB"
    random_page_cost         = "1.1"
    effective_io_concurrency = "200"
    checkpoint_timeout       = "15min"
    shared_buffers           = "256MB"`

func TestAccPostgresTuning_lifecycle(t *testing.T) {
	h := pgHost(t)
	h.ResetPostgres(t)
	t.Cleanup(func() { h.ResetPostgres(t) })
	defaultWorkMem := h.PostgresSetting(t, "work_mem")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy: func(*terraform.State) error {
			if got := h.PostgresAutoConf(t); got != "" {
				return fmt.Errorf("destroy left postgresql.auto.conf setting:\n%s", got)
			}
			if got := h.PostgresSetting(t, "work_mem"); got != defaultWorkMem {
				return fmt.Errorf("work_mem after destroy = %s, want %s", got, defaultWorkMem)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: pgTuningConfig(t, h, "", pgGuideSettings),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(accPgAddr, tfjsonpath.New("pending_restart"), knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact("shared_buffers")})),
					statecheck.ExpectKnownValue(accPgAddr, tfjsonpath.New("effective").AtMapKey("work_mem"), knownvalue.StringExact("64MB")),
					statecheck.ExpectKnownValue(accPgAddr, tfjsonpath.New("effective").AtMapKey("checkpoint_timeout"), knownvalue.StringExact("15min")),
					statecheck.ExpectKnownValue(accPgAddr, tfjsonpath.New("id"), knownvalue.StringExact(fmt.Sprintf("%s:%d/%s", h.Address, h.PostgresPort, h.PostgresDatabase))),
				},
				// A setting waiting for a restart is not a change on every plan.
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					for name, want := range map[string]string{"work_mem": "64MB", "maintenance_work_mem": "512MB", "random_page_cost": "1.1", "effective_io_concurrency": "200"} {
						if got := h.PostgresSetting(t, name); got != want {
							return fmt.Errorf("SHOW %s = %s, want %s", name, got, want)
						}
					}
					return nil
				},
			},
			{
				// Units: the same sizes spelt otherwise plan no change on the
				// server, and the apply keeps it as it is.
				Config: pgTuningConfig(t, h, "", strings.NewReplacer(`"64MB"`, `"65536kB"`, `"15min"`, `"900s"`).Replace(pgGuideSettings)),
				Check: func(*terraform.State) error {
					if got := h.PostgresSetting(t, "work_mem"); got != "64MB" {
						return fmt.Errorf("work_mem = %s", got)
					}
					return nil
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				// An ALTER SYSTEM behind Terraform's back is drift.
				PreConfig: func() {
					conn := h.Postgres(t)
					for _, q := range []string{"ALTER SYSTEM SET work_mem = '8MB'", "SELECT pg_reload_conf()"} {
						if _, err := conn.Exec(context.Background(), q); err != nil {
							t.Fatal(err)
						}
					}
				},
				Config: pgTuningConfig(t, h, "", pgGuideSettings),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(accPgAddr, plancheck.ResourceActionUpdate)},
				},
				Check: func(*terraform.State) error {
					if got := h.PostgresSetting(t, "work_mem"); got != "64MB" {
						return fmt.Errorf("drift not corrected: work_mem = %s", got)
					}
					return nil
				},
			},
			{
				// Dropping a setting resets it.
				Config: pgTuningConfig(t, h, "", strings.Replace(pgGuideSettings, `work_mem                 = "64MB"`, "", 1)),
				Check: func(*terraform.State) error {
					if got := h.PostgresSetting(t, "work_mem"); got != defaultWorkMem {
						return fmt.Errorf("dropped work_mem = %s, want the default %s", got, defaultWorkMem)
					}
					return nil
				},
			},
			{
				PreConfig: func() {
					t.Setenv("PGUSER", h.PostgresUser)
					t.Setenv("PGPASSWORD", h.PostgresPassword)
				},
				ResourceName:      accPgAddr,
				ImportState:       true,
				ImportStateId:     fmt.Sprintf("%s:%d/%s/maintenance_work_mem,random_page_cost,effective_io_concurrency,checkpoint_timeout,shared_buffers", h.Address, h.PostgresPort, h.PostgresDatabase),
				ImportStateVerify: true,
				// sslmode is not in the import ID, and an import records the
				// values it finds as the ones to leave on destroy.
				ImportStateVerifyIgnore: []string{"postgres", "previous_values", "timeouts"},
			},
		},
	})
}

// An ALTER SYSTEM value that was there before the resource is put back on
// destroy, not reset.
func TestAccPostgresTuning_restoresPrevious(t *testing.T) {
	h := pgHost(t)
	h.ResetPostgres(t)
	t.Cleanup(func() { h.ResetPostgres(t) })
	conn := h.Postgres(t)
	for _, q := range []string{"ALTER SYSTEM SET work_mem = '12MB'", "SELECT pg_reload_conf()"} {
		if _, err := conn.Exec(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
	before := h.PostgresAutoConf(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy: func(*terraform.State) error {
			if got := h.PostgresAutoConf(t); got != before {
				return fmt.Errorf("postgresql.auto.conf after destroy:\n%s\nwant:\n%s", got, before)
			}
			return nil
		},
		Steps: []resource.TestStep{{
			Config: pgTuningConfig(t, h, "", `work_mem = "48MB", random_page_cost = "1.5"`),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(accPgAddr, tfjsonpath.New("previous_values"), knownvalue.MapExact(map[string]knownvalue.Check{
					"work_mem": knownvalue.StringExact("12MB"),
				})),
			},
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
		}},
	})
}

// Through SSH with restarts allowed: a setting that needs one is applied by
// a restart; one the host cannot run with is rolled back.
func TestAccPostgresTuning_restart(t *testing.T) {
	h := pgHost(t)
	h.ResetPostgres(t)
	t.Cleanup(func() { h.ResetPostgres(t) })
	config := func(sharedBuffers string) string {
		return acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "mcpai_postgres_tuning" "test" {
  ssh      = { host = %q }
  postgres = %s
  restart  = "allowed"
  settings = { shared_buffers = %q, work_mem = "32MB" }
}
`, h.Address, pgBlock(h, "127.0.0.1"), sharedBuffers)
	}
	var before string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: config("192MB"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(accPgAddr, tfjsonpath.New("pending_restart"), knownvalue.SetSizeExact(0)),
					statecheck.ExpectKnownValue(accPgAddr, tfjsonpath.New("effective").AtMapKey("shared_buffers"), knownvalue.StringExact("192MB")),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					if got := h.PostgresSetting(t, "shared_buffers"); got != "192MB" {
						return fmt.Errorf("shared_buffers after the restart = %s", got)
					}
					before = h.PostgresAutoConf(t)
					return nil
				},
			},
			{
				// More shared memory than this machine has: the server does
				// not start; the old file comes back and it runs again.
				Config:      config("4TB"),
				ExpectError: regexp.MustCompile(`Restarting\s+PostgreSQL[\s\S]*shared_buffers[\s\S]*The\s+server\s+said:[\s\S]*FATAL:\s+could\s+not\s+map\s+anonymous\s+shared\s+memory[\s\S]*was\s+put\s+back\s+and\s+the\s+server\s+runs\s+on\s+it\s+again`),
			},
			{
				PreConfig: func() {
					if got := h.PostgresSetting(t, "shared_buffers"); got != "192MB" {
						t.Fatalf("after the rollback shared_buffers = %s, want 192MB", got)
					}
					// ALTER SYSTEM moves the line it sets to the end, and the
					// rollback puts the value back in that place.
					if got := h.PostgresAutoConf(t); sortedLines(got) != sortedLines(before) {
						t.Fatalf("postgresql.auto.conf after the rollback:\n%s\nwant:\n%s", got, before)
					}
				},
				Config: config("192MB"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
	// The sandbox's default, so later tests start from it.
	if _, err := h.Postgres(t).Exec(context.Background(), "ALTER SYSTEM RESET ALL"); err != nil {
		t.Fatal(err)
	}
	h.InHost(t, "pg_ctlcluster 15 main restart")
}

func TestAccPostgresTuning_badInputs(t *testing.T) {
	h := pgHost(t)
	h.ResetPostgres(t)
	t.Cleanup(func() { h.ResetPostgres(t) })
	conn := h.Postgres(t)
	if _, err := conn.Exec(context.Background(), "CREATE TABLE IF NOT EXISTS mcpai_canary (id int)"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Exec(context.Background(), "DROP TABLE IF EXISTS mcpai_canary") }) //nolint:errcheck // cleanup
	cases := []struct {
		name, config, want string
	}{
		{"unknown name", pgTuningConfig(t, h, "", `work_mem = "8MB", shared_bufers = "1GB"`), `"shared_bufers" is not a setting[\s\S]*Did you mean "shared_buffers"\?[\s\S]*Nothing was changed`},
		{"invalid value after a good one", pgTuningConfig(t, h, "", `work_mem = "8MB", maintenance_work_mem = "lots"`), `maintenance_work_mem takes a number`},
		{"out of range", pgTuningConfig(t, h, "", `checkpoint_timeout = "2d"`), `out of range`},
		{"wrong unit", pgTuningConfig(t, h, "", `work_mem = "5min"`), `not a unit for it`},
		{"injection in a name", pgTuningConfig(t, h, "", `"work_mem = 1; DROP TABLE mcpai_canary; --" = "1"`), `Invalid Setting Name`},
		{"restart without ssh", pgTuningConfig(t, h, `restart = "allowed"`, `work_mem = "8MB"`), `Restart Needs SSH`},
		{"secret setting", pgTuningConfig(t, h, "", `primary_conninfo = "host=x password=y"`), `Secret PostgreSQL Setting`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := h.PostgresAutoConf(t)
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProviders,
				Steps: []resource.TestStep{{
					Config:      tc.config,
					ExpectError: regexp.MustCompile(strings.ReplaceAll(tc.want, " ", `\s+`)),
				}},
			})
			if after := h.PostgresAutoConf(t); after != before {
				t.Fatalf("postgresql.auto.conf changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
	// A wrong password: a clear error that does not repeat the secret. The
	// terraform CLI shows all it would print; the password comes from a
	// variable, as a real configuration would take it.
	w := acctest.NewWorkspace(t, strings.Replace(pgTuningConfig(t, h, "", `work_mem = "8MB"`), strconv.Quote(h.PostgresPassword), "var.pw", 1)+
		"variable \"pw\" {\n  type      = string\n  sensitive = true\n}\n")
	_, out := w.Run([]int{1}, "apply", "-auto-approve", "-var", "pw=not-the-secret-4711")
	if !regexp.MustCompile(`Unable\s+to\s+Connect\s+to\s+PostgreSQL[\s\S]*refused\s+the\s+password`).MatchString(out) {
		t.Errorf("wrong password: unexpected output:\n%s", out)
	}
	if strings.Contains(out, "not-the-secret-4711") {
		t.Errorf("the output shows the password:\n%s", out)
	}

	// A value is a literal, never SQL: this sets a string setting to the
	// text, and the table survives.
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: pgTuningConfig(t, h, "", `application_name = "x'; DROP TABLE mcpai_canary; --"`),
			Check: func(*terraform.State) error {
				var n int
				if err := h.Postgres(t).QueryRow(context.Background(), "SELECT count(*) FROM mcpai_canary").Scan(&n); err != nil {
					return fmt.Errorf("the canary table is gone: %w", err)
				}
				return nil
			},
		}},
	})
}

// The guide's pg_stat_statements, the documented way: preload the library
// (a restart), then create the extension; destroy unloads it again.
func TestAccPostgresTuning_pgStatStatements(t *testing.T) {
	h := pgHost(t)
	h.ResetPostgres(t)
	t.Cleanup(func() { h.ResetPostgres(t) })
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy: func(*terraform.State) error {
			if got := h.PostgresSetting(t, "shared_preload_libraries"); got != "" {
				return fmt.Errorf("after destroy shared_preload_libraries = %q", got)
			}
			return nil
		},
		Steps: []resource.TestStep{{
			Config: acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "mcpai_postgres_tuning" "test" {
  ssh      = { host = %q }
  postgres = %s
  restart  = "allowed"
  settings = {
    # Two libraries: a list, which ALTER SYSTEM takes as separate elements.
    shared_preload_libraries   = "pg_stat_statements,auto_explain"
    "pg_stat_statements.track" = "all"
    # Known only once the library is loaded, and itself needing a restart.
    "pg_stat_statements.max" = "5000"
  }
}
`, h.Address, pgBlock(h, "127.0.0.1")),
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			Check: func(*terraform.State) error {
				if got := h.PostgresSetting(t, "pg_stat_statements.max"); got != "5000" {
					return fmt.Errorf("pg_stat_statements.max = %s", got)
				}
				if got := h.PostgresSetting(t, "shared_preload_libraries"); got != "pg_stat_statements, auto_explain" {
					return fmt.Errorf("shared_preload_libraries = %q", got)
				}
				conn := h.Postgres(t)
				if _, err := conn.Exec(context.Background(), "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"); err != nil {
					return err
				}
				var n int
				if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM pg_stat_statements").Scan(&n); err != nil || n == 0 {
					return fmt.Errorf("pg_stat_statements: %d rows, %w", n, err)
				}
				_, err := conn.Exec(context.Background(), "DROP EXTENSION pg_stat_statements")
				return err
			},
		}},
	})
}

// sortedLines is s with its lines sorted, to compare settings files whose
// order does not matter.
func sortedLines(s string) string {
	lines := strings.Split(s, "\n")
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// A restart that fails is rolled back for our settings only: what another
// run set with ALTER SYSTEM meanwhile (here, just before the restart, by
// the restart command itself) stays in postgresql.auto.conf.
func TestAccPostgresTuning_rollbackKeepsOthers(t *testing.T) {
	h := pgHost(t)
	h.ResetPostgres(t)
	t.Cleanup(func() { h.ResetPostgres(t) })
	// "Another run" connects over TCP, as one without ssh would, then the
	// cluster is restarted. In the rollback the server is down: psql fails
	// and the restart starts it.
	otherRun := fmt.Sprintf(`["env", "PGHOST=127.0.0.1", "PGPORT=%d", "PGUSER=%s", "PGPASSWORD=%s", "PGDATABASE=%s", "sh", "-c", "psql -qc 'ALTER SYSTEM SET log_min_duration_statement = 1234'; exec pg_ctlcluster 15 main restart"]`,
		h.PostgresPort, h.PostgresUser, h.PostgresPassword, h.PostgresDatabase)
	config := func(sharedBuffers, restartCommand string) string {
		return acctest.ProviderBlock(t) + fmt.Sprintf(`
resource "mcpai_postgres_tuning" "test" {
  ssh      = { host = %q }
  postgres = %s
  restart  = "allowed"
  %s
  settings = { shared_buffers = %q, work_mem = "32MB" }
}
`, h.Address, pgBlock(h, "127.0.0.1"), restartCommand, sharedBuffers)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{Config: config("192MB", "")},
			{
				Config:      config("4TB", "restart_command = "+otherRun),
				ExpectError: regexp.MustCompile(`Restarting\s+PostgreSQL[\s\S]*shared_buffers[\s\S]*was\s+put\s+back\s+and\s+the\s+server\s+runs\s+on\s+it\s+again`),
			},
			{
				PreConfig: func() {
					want := "shared_buffers=192MB\nwork_mem=32MB\nlog_min_duration_statement=1234"
					if got := h.PostgresAutoConf(t); sortedLines(got) != sortedLines(want) {
						t.Fatalf("postgresql.auto.conf after the rollback:\n%s\nwant:\n%s", got, want)
					}
					if got := h.PostgresSetting(t, "shared_buffers"); got != "192MB" {
						t.Fatalf("after the rollback shared_buffers = %s, want 192MB", got)
					}
				},
				Config:           config("192MB", ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
	if _, err := h.Postgres(t).Exec(context.Background(), "ALTER SYSTEM RESET ALL"); err != nil {
		t.Fatal(err)
	}
	h.InHost(t, "pg_ctlcluster 15 main restart")
}
