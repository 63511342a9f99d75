package moduletest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

// serviceHost is the sandbox host of the postgres and model-runner module
// tests: the last one (h2), with PostgreSQL 15 and the current Docker
// engine with the mock NVIDIA stack; tests of the host-level modules
// restart the first host's services.
func serviceHost(t *testing.T) acctest.Host {
	t.Helper()
	hosts := acctest.Hosts(t)
	h := hosts[len(hosts)-1]
	if h.PostgresPort == 0 || !h.GPUMock {
		t.Fatalf("sandbox host %s runs no PostgreSQL or no mock NVIDIA stack; run scripts/sandbox.sh up 2", h.Name)
	}
	return h
}

// pgVersionArg is the module's required db_version for the sandbox's
// PostgreSQL.
const pgVersionArg = "  db_version = 15\n"

// postgresModuleArgs are the module's connection inputs for h's server,
// then extra lines.
func postgresModuleArgs(h acctest.Host, extra string) string {
	return fmt.Sprintf(`  host     = %q
  port     = %d
  user     = %q
  password = %q
  database = %q
  sslmode  = "disable"
%s`, h.Address, h.PostgresPort, h.PostgresUser, h.PostgresPassword, h.PostgresDatabase, extra)
}

// hostSizing is what PGTune should size for on h, from the host itself:
// MemTotal in whole GB and the online CPUs.
func hostSizing(t *testing.T, h acctest.Host) (memory string, cpus int) {
	t.Helper()
	meminfo := h.InHost(t, "grep MemTotal /proc/meminfo")
	var kb int64
	if _, err := fmt.Sscanf(meminfo, "MemTotal: %d kB", &kb); err != nil {
		t.Fatalf("MemTotal: %v: %q", err, meminfo)
	}
	cpus, err := strconv.Atoi(strings.TrimSpace(h.InHost(t, "nproc")))
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%dGB", kb/1048576), cpus
}

// The module sizes PostgreSQL from the host's facts, the caller's overrides
// win, settings that need a restart wait for one (restart = "never"), the
// indexes are built; the plan is then empty, and destroy leaves the server
// as it was.
func TestAccModulePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the terraform CLI")
	}
	h := serviceHost(t)
	h.ResetPostgres(t)
	t.Cleanup(func() { h.ResetPostgres(t) })
	const table = "mcpai_acc_module_orders"
	h.CreateIndexTable(t, table)
	before := map[string]string{}
	for _, name := range []string{"shared_buffers", "max_connections", "work_mem", "random_page_cost"} {
		before[name] = h.PostgresSetting(t, name)
	}

	w := callModule(t, "postgres", postgresModuleArgs(h, pgVersionArg+fmt.Sprintf(`
  db_type     = "oltp"
  connections = 120
  overrides   = { work_mem = "12MB", checkpoint_timeout = "15min" }
  indexes = {
    mcpai_acc_mod_recent = {
      table   = %[1]q
      columns = [{ name = "tenant" }, { name = "created_at", order = "desc" }]
    }
    mcpai_acc_mod_score = {
      table   = %[1]q
      columns = [{ name = "score" }]
      unique  = true
      where   = "score > 10"
    }
  }`, table)), "settings", "sizing", "pending_restart", "index_names")
	// Both indexes are on one table and built at once: the server cancels
	// one with "deadlock detected", and the resource retries it.
	_, out := w.Run([]int{0}, "apply", "-auto-approve")
	destroyed := false
	t.Cleanup(func() {
		if !destroyed {
			w.Run([]int{0}, "destroy", "-auto-approve")
		}
	})
	if strings.Contains(out, h.PostgresPassword) {
		t.Errorf("the apply output shows the password:\n%s", out)
	}

	// Sized from the host.
	var sizing struct {
		TotalMemory string `json:"total_memory"`
		CPUNum      int    `json:"cpu_num"`
		HDType      string `json:"hd_type"`
	}
	w.OutputJSON("sizing", &sizing)
	memory, cpus := hostSizing(t, h)
	if sizing.TotalMemory != memory || sizing.CPUNum != cpus || (sizing.HDType != "ssd" && sizing.HDType != "hdd") {
		t.Errorf("sizing = %+v, want total_memory %s and cpu_num %d from the host", sizing, memory, cpus)
	}
	var settings map[string]string
	w.OutputJSON("settings", &settings)
	wantCost := map[string]string{"ssd": "1.1", "hdd": "4"}[sizing.HDType]
	if settings["max_connections"] != "120" || settings["min_wal_size"] != "2GB" || settings["random_page_cost"] != wantCost {
		t.Errorf("settings are not PGTune's for oltp, 120 connections, %s: %v", sizing.HDType, settings)
	}
	// The overrides win; what a reload applies is live.
	for name, want := range map[string]string{
		"work_mem":             "12MB",
		"checkpoint_timeout":   "15min",
		"random_page_cost":     wantCost,
		"effective_cache_size": settings["effective_cache_size"],
		"maintenance_work_mem": settings["maintenance_work_mem"],
		"min_wal_size":         "2GB",
	} {
		if got := h.PostgresSetting(t, name); got != want {
			t.Errorf("SHOW %s = %s, want %s", name, got, want)
		}
	}
	// What needs a restart waits for one.
	var pending []string
	w.OutputJSON("pending_restart", &pending)
	if err := acctest.HasAll(pending, "shared_buffers", "max_connections"); err != nil {
		t.Errorf("pending_restart: %v", err)
	}
	if got := h.PostgresSetting(t, "max_connections"); got != before["max_connections"] {
		t.Errorf("max_connections changed without a restart: %s", got)
	}

	var names []string
	w.OutputJSON("index_names", &names)
	if !slices.Equal(names, []string{"mcpai_acc_mod_recent", "mcpai_acc_mod_score"}) {
		t.Errorf("index_names = %q", names)
	}
	for name, def := range map[string]string{
		"mcpai_acc_mod_recent": "CREATE INDEX mcpai_acc_mod_recent ON public." + table + " USING btree (tenant, created_at DESC)",
		"mcpai_acc_mod_score":  "CREATE UNIQUE INDEX mcpai_acc_mod_score ON public." + table + " USING btree (score) WHERE (score > 10)",
	} {
		if err := h.WantIndex(t, name, def); err != nil {
			t.Error(err)
		}
	}

	w.PlanEmpty()
	w.Run([]int{0}, "destroy", "-auto-approve")
	destroyed = true
	if got := h.PostgresAutoConf(t); got != "" {
		t.Errorf("postgresql.auto.conf after destroy:\n%s", got)
	}
	for name, want := range before {
		if got := h.PostgresSetting(t, name); got != want {
			t.Errorf("after destroy %s = %s, want %s", name, got, want)
		}
	}
	for _, name := range names {
		if err := h.IndexGone(t, name); err != nil {
			t.Error(err)
		}
	}
}

// Through the SSH tunnel with restarts allowed: the sizes given (no host
// facts), pg_stat_statements beside the caller's own preloaded library, all
// live after the module's restart; destroy restarts the server back to its
// previous settings.
func TestAccModulePostgres_restart(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the terraform CLI")
	}
	h := serviceHost(t)
	h.ResetPostgres(t)
	t.Cleanup(func() {
		// Whatever a failed run left pending goes with a restart.
		h.ResetPostgres(t)
		var pending bool
		if err := h.Postgres(t).QueryRow(context.Background(), "SELECT bool_or(pending_restart) FROM pg_settings").Scan(&pending); err != nil || pending {
			h.InHost(t, "pg_ctlcluster 15 main restart")
		}
	})
	before := map[string]string{}
	for _, name := range []string{"shared_buffers", "max_connections", "shared_preload_libraries", "max_worker_processes", "effective_io_concurrency"} {
		before[name] = h.PostgresSetting(t, name)
	}

	w := callModule(t, "postgres", postgresModuleArgs(h, pgVersionArg+`
  ssh_tunnel         = true
  restart            = "allowed"
  total_memory       = "2GB"
  cpu_count          = 4
  disk_type          = "nvme"
  connections        = 50
  pg_stat_statements = { max = 5000 }
  overrides          = { shared_preload_libraries = "auto_explain" }`), "settings", "pending_restart")
	w.Run([]int{0}, "apply", "-auto-approve")
	destroyed := false
	t.Cleanup(func() {
		if !destroyed {
			w.Run([]int{0}, "destroy", "-auto-approve")
		}
	})
	for name, want := range map[string]string{
		"shared_buffers":           "512MB",
		"max_connections":          "50",
		"max_worker_processes":     "4",
		"effective_io_concurrency": "1000",
		"shared_preload_libraries": "auto_explain, pg_stat_statements",
		"pg_stat_statements.max":   "5000",
		"pg_stat_statements.track": "all",
	} {
		if got := h.PostgresSetting(t, name); got != want {
			t.Errorf("SHOW %s = %s, want %s", name, got, want)
		}
	}
	var pending []string
	w.OutputJSON("pending_restart", &pending)
	if len(pending) != 0 {
		t.Errorf("pending_restart after a restart = %q", pending)
	}

	w.PlanEmpty()
	w.Run([]int{0}, "destroy", "-auto-approve")
	destroyed = true
	if got := h.PostgresAutoConf(t); got != "" {
		t.Errorf("postgresql.auto.conf after destroy:\n%s", got)
	}
	for name, want := range before {
		if got := h.PostgresSetting(t, name); got != want {
			t.Errorf("after destroy %s = %s, want %s", name, got, want)
		}
	}
}

// probeUser is the provider's SSH user in the validation tests. No host has
// it, so any attempt to reach a host shows in its sshd log as "Invalid user
// mcpai-module-probe", whatever other tests do on the host meanwhile.
const probeUser = "mcpai-module-probe"

// callModuleAsProbe is callModule with probeUser as the provider's SSH user.
func callModuleAsProbe(t *testing.T, name, args string) *acctest.Workspace {
	t.Helper()
	w := callModule(t, name, args)
	replaceInConfig(t, w, `user        = "root"`, fmt.Sprintf("user        = %q", probeUser))
	return w
}

// probes counts probeUser's SSH attempts on h.
func probes(t *testing.T, h acctest.Host) int {
	t.Helper()
	log, err := os.ReadFile(h.SSHDLog)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(log), "Invalid user "+probeUser+" ")
}

// planRefusedAsProbe runs `terraform plan` with args on a callModuleAsProbe
// workspace: it must fail with want, without an SSH attempt on h.
func planRefusedAsProbe(t *testing.T, w *acctest.Workspace, h acctest.Host, want string, args ...string) {
	t.Helper()
	before := probes(t, h)
	_, out := w.Run([]int{1}, append([]string{"plan"}, args...)...)
	if !acctest.ErrorWords(want).MatchString(out) {
		t.Errorf("plan output lacks %q:\n%s", want, out)
	}
	if n := probes(t, h) - before; n != 0 {
		t.Errorf("the plan tried to log in to %s %d times", h.Name, n)
	}
}

// A bad input is refused by the module's validation at plan time, before
// the host is reached: no SSH attempt, no setting changed. Values that come
// through a variable of the caller reach the module only at plan time, when
// Terraform walks the configuration concurrently; they must stop it too.
// Each validation is tested in modules/postgres/tests.
func TestAccModulePostgres_validation(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the terraform CLI")
	}
	h := serviceHost(t)
	before := h.PostgresAutoConf(t)
	t.Run("through a variable", func(t *testing.T) {
		w := callModuleAsProbe(t, "postgres", postgresModuleArgs(h, pgVersionArg+`db_type = var.db_type`))
		if err := os.WriteFile(filepath.Join(w.Dir, "variables.tf"), []byte("variable \"db_type\" { type = string }\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		planRefusedAsProbe(t, w, h, `db_type must be one of web, oltp, dw, desktop or mixed.`, "-var", "db_type=olap")
	})
	// The check above sees an attempt: with good inputs the plan reads the
	// host's facts, and fails to log in.
	t.Run("control", func(t *testing.T) {
		w := callModuleAsProbe(t, "postgres", postgresModuleArgs(h, pgVersionArg))
		before := probes(t, h)
		w.Run([]int{1}, "plan")
		if probes(t, h) == before {
			t.Errorf("a plan with good inputs made no SSH attempt on %s", h.Name)
		}
	})
	if after := h.PostgresAutoConf(t); after != before {
		t.Errorf("postgresql.auto.conf changed:\n%s\n%s", before, after)
	}
}
