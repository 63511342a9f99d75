package moduletest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
)

// debianStackImage is the sandbox engines' Debian bookworm image with
// PgBouncer 1.18 from Debian's package (scripts/debian-images.sh).
const debianStackImage = "mcpai-debian-stack:latest"

// pgbouncerTest names what one pgbouncer module test uses on the service
// host, so that tests running at once do not meet.
type pgbouncerTest struct {
	h         acctest.Host
	name, dir string
	port      int
}

// newPgBouncerTest clears what an earlier run left (the container, the
// configuration folder) and again at the end.
func newPgBouncerTest(t *testing.T, name string, port int) pgbouncerTest {
	t.Helper()
	s := pgbouncerTest{h: serviceHost(t), name: name, dir: "/root/" + name, port: port}
	if out, err := s.h.DockerOutput("image", "inspect", "--format", "{{.Id}}", debianStackImage); err != nil {
		t.Fatalf("the sandbox engine on %s has no %s (scripts/debian-images.sh): %s", s.h.Name, debianStackImage, out)
	}
	reset := func() {
		s.h.RemoveContainers(t, s.name)
		s.h.InHost(t, "rm -rf "+s.dir)
	}
	reset()
	t.Cleanup(reset)
	return s
}

// args are the module's inputs for the test's name, folder and port against
// the host's own PostgreSQL, then extra lines.
func (s pgbouncerTest) args(extra string) string {
	return fmt.Sprintf(`  host            = %q
  name            = %q
  image           = %q
  config_dir      = %q
  port            = %d
  server_host     = %q
  server_port     = %d
  user            = %q
  password        = %q
  databases       = [%q]
  max_connections = 100
  timeouts        = { create = "1m" }
%s`, s.h.Address, s.name, debianStackImage, s.dir, s.port, s.h.Address, s.h.PostgresPort, s.h.PostgresUser, s.h.PostgresPassword, s.h.PostgresDatabase, extra)
}

// connect logs in through PgBouncer to database. Simple protocol: in
// transaction pooling PgBouncer 1.18 keeps no prepared statements.
func (s pgbouncerTest) connect(t *testing.T, database string) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable&default_query_exec_mode=simple_protocol",
		s.h.PostgresUser, s.h.Address, s.port, database))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Password = s.h.PostgresPassword
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("connect through PgBouncer to %s: %v", database, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) }) //nolint:errcheck // test cleanup
	return conn
}

// poolMode is the pool_mode of database's pool as PgBouncer's admin
// console shows it (SHOW POOLS), after a query through the pool (PgBouncer
// makes a pool for its first client).
func (s pgbouncerTest) poolMode(t *testing.T, database string) string {
	t.Helper()
	if _, err := s.connect(t, database).Exec(context.Background(), "SELECT 1"); err != nil {
		t.Fatalf("a query through PgBouncer: %v", err)
	}
	rows, err := s.connect(t, "pgbouncer").Query(context.Background(), "SHOW POOLS")
	if err != nil {
		t.Fatalf("SHOW POOLS: %v", err)
	}
	pools, err := pgx.CollectRows(rows, pgx.RowToMap)
	if err != nil {
		t.Fatalf("SHOW POOLS: %v", err)
	}
	for _, p := range pools {
		if p["database"] == database {
			return fmt.Sprint(p["pool_mode"])
		}
	}
	t.Fatalf("SHOW POOLS has no pool for %s: %v", database, pools)
	return ""
}

// The module runs PgBouncer in transaction pooling in front of the host's
// PostgreSQL, as a user other than root, with its files 0600 and no
// password in the plan or the userlist; an empty plan; a file edited by
// hand shows in the plan (the file and a new container) and is put back;
// destroy leaves no container, file or folder.
func TestAccModulePgBouncer(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the terraform CLI")
	}
	s := newPgBouncerTest(t, "acc-pgb-main", 16432)
	h := s.h
	w := callModule(t, "pgbouncer", s.args(`  clients = { replicas = 2, workers = 4, pool_size = 5 }`), "dsn", "settings", "config_paths", "container_id")
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

	var dsn string
	w.OutputJSON("dsn", &dsn)
	if want := fmt.Sprintf("postgresql://%s@%s:%d/%s", h.PostgresUser, h.Address, s.port, h.PostgresDatabase); dsn != want {
		t.Errorf("dsn = %q, want %q", dsn, want)
	}

	// A transaction through PgBouncer reaches the server itself.
	conn := s.connect(t, h.PostgresDatabase)
	var user string
	var serverPort int
	if err := pgx.BeginFunc(context.Background(), conn, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), "SELECT current_user, current_setting('port')::int").Scan(&user, &serverPort)
	}); err != nil {
		t.Fatalf("a transaction through PgBouncer: %v", err)
	}
	if user != h.PostgresUser || serverPort != h.PostgresPort {
		t.Errorf("through PgBouncer: user %s on port %d, want %s on %d", user, serverPort, h.PostgresUser, h.PostgresPort)
	}
	if got := s.poolMode(t, h.PostgresDatabase); got != "transaction" {
		t.Errorf("pool_mode = %q, want transaction", got)
	}

	// Not root, as PgBouncer insists; the files root's alone, and the
	// userlist holds a secret, not the password.
	if got, err := h.DockerOutput("top", s.name, "-o", "pid,user,args"); err != nil || !strings.Contains(got, "postgres") || strings.Contains(got, "root") {
		t.Errorf("docker top %s: want pgbouncer as postgres: %v\n%s", s.name, err, got)
	}
	var paths []string
	w.OutputJSON("config_paths", &paths)
	for _, p := range paths {
		if got := h.InHost(t, "stat -c '%a %U:%G' "+p); got != "600 root:root" {
			t.Errorf("%s: %s, want 600 root:root", p, got)
		}
	}
	if got := h.InHost(t, "cat "+s.dir+"/userlist.txt"); strings.Contains(got, h.PostgresPassword) || !strings.HasPrefix(got, `"`+h.PostgresUser+`" "md5`) {
		t.Errorf("userlist.txt = %q, want the user's md5 secret", got)
	}

	w.PlanEmpty()

	// A hand edit of pgbouncer.ini is drift: the file is written back and
	// PgBouncer restarted with it.
	var id string
	w.OutputJSON("container_id", &id)
	h.InHost(t, "sed -i 's/^pool_mode = transaction/pool_mode = session/' "+s.dir+"/pgbouncer.ini")
	code, plan := w.Run([]int{0, 2}, "plan", "-detailed-exitcode")
	if code != 2 || !strings.Contains(plan, "module.m.mcpai_host_file.ini will be updated in-place") ||
		!strings.Contains(plan, "module.m.mcpai_container.pgbouncer will be replaced") {
		t.Errorf("after a hand edit, the plan shows no update of the file and new container:\n%s", plan)
	}
	w.Run([]int{0}, "apply", "-auto-approve")
	var newID string
	w.OutputJSON("container_id", &newID)
	if newID == id {
		t.Errorf("the container %s was not replaced after its file changed", id)
	}
	if got := h.InHost(t, "grep '^pool_mode' "+s.dir+"/pgbouncer.ini"); got != "pool_mode = transaction" {
		t.Errorf("after apply: %s", got)
	}
	if got := s.poolMode(t, h.PostgresDatabase); got != "transaction" {
		t.Errorf("pool_mode after apply = %q, want transaction", got)
	}
	w.PlanEmpty()

	w.Run([]int{0}, "destroy", "-auto-approve")
	destroyed = true
	if _, ok := h.InspectContainer(t, s.name); ok {
		t.Errorf("destroy left the container %s", s.name)
	}
	if got := h.DirsState(t, s.dir); got != "absent" {
		t.Errorf("destroy left %s: %s", s.dir, got)
	}
}

// Pools that do not fit the server, and clients that do not fit PgBouncer,
// are refused when planning, with the numbers and what to change, before
// any host is touched.
func TestAccModulePgBouncer_sizing(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the terraform CLI")
	}
	s := newPgBouncerTest(t, "acc-pgb-sizing", 16433)
	for _, tc := range []struct {
		name, extra string
		want        []string
	}{
		{"pools over max_connections", `  default_pool_size = 30
  reserve_pool_size = 5
  instances         = 2
  max_connections   = 50`, []string{
			"PgBouncer would open up to 70 server connections: (default_pool_size 30 + reserve_pool_size 5) x 1 database(s) x 2 PgBouncer instance(s), but PostgreSQL accepts 47 (max_connections 50 - superuser_reserved_connections 3).",
			"Lower default_pool_size or reserve_pool_size to at most 23 in total, or raise max_connections.",
		}},
		{"clients over max_client_conn", `  max_client_conn = 50
  clients         = { replicas = 2, workers = 4, pool_size = 10 }`, []string{
			"The API would open 80 connections to PgBouncer: clients.replicas 2 x clients.workers 4 x clients.pool_size 10, but PgBouncer accepts 50 (max_client_conn).",
			"Lower clients.pool_size, clients.workers or clients.replicas, or raise max_client_conn.",
		}},
		{"session clients over max_connections", `  pool_mode = "session"
  clients   = { replicas = 3, workers = 4, pool_size = 10 }`, []string{
			"in pool_mode session each holds a server connection, and PostgreSQL accepts 97 (max_connections 100 - superuser_reserved_connections 3)",
			"raise max_connections (or use pool_mode transaction)",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// HCL refuses an argument given twice: a case with its own
			// max_connections drops the default line.
			args := s.args(tc.extra)
			if strings.Contains(tc.extra, "max_connections") {
				args = strings.Replace(args, "  max_connections = 100\n", "", 1)
			}
			w := callModule(t, "pgbouncer", args)
			for _, want := range tc.want {
				planRefused(t, w, s.h, want)
			}
			if _, ok := s.h.InspectContainer(t, s.name); ok {
				t.Errorf("a refused plan left a container %s", s.name)
			}
			if got := s.h.DirsState(t, s.dir); got != "absent" {
				t.Errorf("a refused plan left %s: %s", s.dir, got)
			}
		})
	}
}

// mcpai-stack with pgbouncer enabled, planned only: PgBouncer on the api
// host in front of the db host's server, the API's DATABASE_* pointing at
// it; pools sized against the max_connections the db layer sets (PGTune's
// for connections = 100) are refused with the numbers.
func TestAccModulePgBouncer_stack(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the terraform CLI")
	}
	sandbox := acctest.Hosts(t)
	db := sandbox[0]
	args := func(pool int) string {
		return fmt.Sprintf(`  postgres          = { db_version = 15, connections = 100, direct = true, sslmode = "disable", port = %d, user = %q, database = %q }
  postgres_password = %q
  model_runner      = { image = "mcpai-demo-model:latest" }
  api               = { image = "mcpai-demo-api:latest", replicas = 2, workers = 3 }
  pgbouncer         = { enabled = true, image = %q, name = "acc-pgb-stack", port = 16434, default_pool_size = %d }
`, db.PostgresPort, db.PostgresUser, db.PostgresDatabase, db.PostgresPassword, debianStackImage, pool)
	}

	t.Run("wired", func(t *testing.T) {
		w := acctest.ModuleWorkspace(t, stackConfig(t, "root", args(20)))
		w.Run([]int{0}, "plan", "-out=plan.tfplan")
		_, out := w.Run([]int{0}, "show", "-json", "plan.tfplan")
		var plan struct {
			ResourceChanges []struct {
				Address string
				Change  struct {
					Actions []string
					After   map[string]any
				}
			} `json:"resource_changes"`
		}
		if err := json.Unmarshal([]byte(out), &plan); err != nil {
			t.Fatal(err)
		}
		after := map[string]map[string]any{}
		for _, rc := range plan.ResourceChanges {
			after[rc.Address] = rc.Change.After
		}
		pgb := after[`module.stack.module.pgbouncer["app"].mcpai_container.pgbouncer`]
		if pgb == nil || pgb["name"] != "acc-pgb-stack" {
			t.Fatalf("no PgBouncer container planned on the api host: %v", pgb)
		}
		api := after[`module.stack.module.api["app"].mcpai_container.api[0]`]
		if api == nil {
			t.Fatal("no API container planned")
		}
		env, _ := api["env"].(map[string]any)
		want := map[string]any{"DATABASE_HOST": sandbox[1].Address, "DATABASE_PORT": "16434", "DATABASE_NAME": db.PostgresDatabase, "DATABASE_USER": db.PostgresUser}
		for k, v := range want {
			if env[k] != v {
				t.Errorf("API env %s = %v, want %v (all: %v)", k, env[k], v, env)
			}
		}
	})

	t.Run("oversized", func(t *testing.T) {
		w := acctest.ModuleWorkspace(t, stackConfig(t, "root", args(98)))
		planFails(t, w, "PgBouncer would open up to 98 server connections: (default_pool_size 98 + reserve_pool_size 0) x 1 database(s) x 1 PgBouncer instance(s), but PostgreSQL accepts 97 (max_connections 100 - superuser_reserved_connections 3).")
	})
}
