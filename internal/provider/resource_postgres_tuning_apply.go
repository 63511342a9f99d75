package provider

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"github.com/jackc/pgx/v5"

	"github.com/mcpai/terraform-provider-mcpai/internal/postgres"
	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
)

// mcpai_postgres_tuning's apply steps: the server's settings as pg_settings
// reports them, ALTER SYSTEM with the reload or restart that applies it, and
// the rollback when the server does not come back.

// pgRow is what the server says of one setting.
type pgRow struct {
	meta       postgres.Setting
	display    string  // current_setting(): "4GB"
	pending    bool    // configured value waits for a restart
	configured *string // last value in the configuration files
	auto       *string // value in postgresql.auto.conf, if any
	fileError  string  // the server's complaint about the configured value
	source     string  // where the live value comes from (pg_settings.source)
}

// sessionOwned reports whether this connection's own value hides the
// configured one (application_name, set by every client): then the
// configured value is what the resource manages.
func (r pgRow) sessionOwned() bool { return r.source == "client" || r.source == "session" }

// live is the value to judge the setting by: the configured one while it
// waits for a restart or the session overrides it, else the running one.
func (r pgRow) live() (value string, configured bool) {
	if (r.pending || r.sessionOwned()) && r.configured != nil {
		return *r.configured, true
	}
	return r.meta.Setting, false
}

// pgSnapshot holds rows by lower-case name: setting names are
// case-insensitive (DateStyle, datestyle).
type pgSnapshot map[string]pgRow

func (s pgSnapshot) get(name string) (pgRow, bool) {
	r, ok := s[strings.ToLower(name)]
	return r, ok
}

// pgSettingsQuery reads every named setting in one round trip: its
// metadata and live value, whether it waits for a restart, and what the
// configuration files (postgresql.auto.conf last) set it to.
const pgSettingsQuery = `SELECT s.name, s.setting, coalesce(s.unit, ''), s.vartype, s.context,
  coalesce(s.min_val, ''), coalesce(s.max_val, ''), coalesce(s.enumvals, '{}'::text[]),
  s.pending_restart, current_setting(s.name),
  (SELECT f.setting FROM pg_file_settings f WHERE lower(f.name) = lower(s.name) ORDER BY f.seqno DESC LIMIT 1),
  (SELECT f.setting FROM pg_file_settings f WHERE lower(f.name) = lower(s.name) AND f.sourcefile LIKE '%/postgresql.auto.conf' ORDER BY f.seqno DESC LIMIT 1),
  coalesce((SELECT f.error FROM pg_file_settings f WHERE lower(f.name) = lower(s.name) AND f.error IS NOT NULL AND f.error <> 'setting could not be applied' ORDER BY f.seqno DESC LIMIT 1), ''),
  s.source
FROM pg_settings s WHERE lower(s.name) = ANY($1)`

func readPgSettings(ctx context.Context, conn *pgx.Conn, names []string) (pgSnapshot, error) {
	lower := make([]string, len(names))
	for i, n := range names {
		lower[i] = strings.ToLower(n)
	}
	rows, err := conn.Query(ctx, pgSettingsQuery, lower)
	if err != nil {
		return nil, err
	}
	snap := pgSnapshot{}
	for rows.Next() {
		var r pgRow
		if err := rows.Scan(&r.meta.Name, &r.meta.Setting, &r.meta.Unit, &r.meta.VarType, &r.meta.Context,
			&r.meta.MinVal, &r.meta.MaxVal, &r.meta.EnumVals, &r.pending, &r.display, &r.configured, &r.auto, &r.fileError, &r.source); err != nil {
			return nil, err
		}
		snap[strings.ToLower(r.meta.Name)] = r
	}
	return snap, rows.Err()
}

func (s pgSnapshot) anyPending() bool {
	for _, r := range s {
		if r.pending {
			return true
		}
	}
	return false
}

// status returns the pending_restart set and the effective values of the
// managed names.
func (s pgSnapshot) status(managed map[string]string, diags *diag.Diagnostics) (types.Set, types.Map) {
	pending := []string{}
	effective := map[string]string{}
	for name := range managed {
		if row, ok := s.get(name); ok {
			effective[name] = row.display
			if row.pending {
				pending = append(pending, name)
			}
		}
	}
	slices.Sort(pending)
	set, d := types.SetValueFrom(context.Background(), types.StringType, pending)
	diags.Append(d...)
	return set, mapValue(effective, diags)
}

// apply moves the server from the old settings to next (nil: reset them
// all, for destroy), and records the outcome in m.
func (r *postgresTuningResource) apply(ctx context.Context, m *postgresTuningModel, old, next, previous map[string]string, diags *diag.Diagnostics) {
	const summary = "Unable to Apply PostgreSQL Settings"
	if diags.HasError() {
		return
	}
	conn, tunnel, pm, d := r.data.connectPostgres(ctx, m.Postgres, m.SSH)
	if diags.Append(d...); diags.HasError() {
		return
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	unlock, d := lockHost(ctx, tunnel, summary, "mcpai_postgres_tuning "+pm.target())
	if diags.Append(d...); diags.HasError() {
		return
	}
	defer unlock()
	var restartCmd []string
	if !m.RestartCommand.IsNull() {
		diags.Append(m.RestartCommand.ElementsAs(ctx, &restartCmd, false)...)
	}
	allowRestart := m.Restart.ValueString() == restartAllowed && tunnel != nil

	names := postgres.SortedNames(next)
	for _, n := range postgres.SortedNames(old) {
		if _, ok := next[n]; !ok {
			names = append(names, n)
		}
	}
	before, err := readPgSettings(ctx, conn, names)
	if err != nil {
		diags.Append(postgresError(summary, pm, tunnel, err))
		return
	}

	// Validate everything before writing anything.
	// An extension's settings exist only once its library is loaded: those
	// wait for the restart that loads it, and are set after it.
	var deferred []string
	preloading := next["shared_preload_libraries"] != "" && allowRestart
	for _, name := range postgres.SortedNames(next) {
		row, ok := before.get(name)
		if !ok {
			if postgres.IsCustom(name) && preloading {
				deferred = append(deferred, name)
				continue
			}
			if postgres.IsCustom(name) {
				diags.AddAttributeError(path.Root("settings").AtMapKey(name), summary, fmt.Sprintf(
					"%q is not known to the server at %s until its extension's library is loaded. Add the library to shared_preload_libraries with restart = \"allowed\" (and ssh), which sets %s after the restart, or load it first. Nothing was changed.",
					name, pm.target(), name))
				continue
			}
			diags.AddAttributeError(path.Root("settings").AtMapKey(name), summary, unknownSettingDetail(ctx, conn, name, pm))
			continue
		}
		if _, err := postgres.Canonical(row.meta, next[name]); err != nil {
			diags.AddAttributeError(path.Root("settings").AtMapKey(name), summary, fmt.Sprintf("%v (server %s). Nothing was changed.", err, pm.target()))
		}
	}
	if diags.HasError() {
		return
	}

	// What postgresql.auto.conf holds now, to put back on failure.
	type step struct{ name, value string } // value "" resets
	var done []step
	undo := func() string {
		uctx, ucancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
		defer ucancel()
		var problems []string
		for _, s := range slices.Backward(done) {
			prev := ""
			if row, ok := before.get(s.name); ok && row.auto != nil {
				prev = *row.auto
			}
			if err := alterSystem(uctx, conn, s.name, prev); err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", s.name, err))
			}
		}
		if _, err := conn.Exec(uctx, "SELECT pg_reload_conf()"); err != nil {
			problems = append(problems, err.Error())
		}
		if len(problems) > 0 {
			return "Putting back the previous values also failed, so the server may be half-applied: " + strings.Join(problems, "; ") + "."
		}
		return "The settings already changed were put back; nothing was changed."
	}

	// How to restart, known before anything is written.
	var restartArgs []string
	if allowRestart {
		needs := false
		for _, name := range names {
			if row, ok := before.get(name); ok && row.meta.NeedsRestart() {
				needs = true
			}
		}
		if needs || len(deferred) > 0 {
			if restartArgs, err = restartArgv(ctx, conn, restartCmd); err != nil {
				diags.AddAttributeError(path.Root("restart_command"), summary, fmt.Sprintf("%v. Nothing was changed.", err))
				return
			}
		}
	}

	var autoConf remote.FileState
	var dataDir string
	if allowRestart {
		// The whole file, for a restart that does not come back.
		if err := conn.QueryRow(ctx, "SELECT current_setting('data_directory')").Scan(&dataDir); err != nil {
			diags.Append(postgresError(summary, pm, tunnel, err))
			return
		}
		files, err := tunnel.ReadFiles(ctx, dataDir+"/postgresql.auto.conf")
		if err != nil {
			diags.Append(hostError(summary, "Reading postgresql.auto.conf", tunnel, err))
			return
		}
		autoConf = remote.FileState{Exists: files[0].Exists, Data: files[0].Data}
	}

	for _, name := range names {
		value, keep := next[name]
		if !keep {
			value = previous[name] // "" resets: nothing was set before
		}
		if row, ok := before.get(name); ok && row.auto != nil && *row.auto == value {
			continue
		}
		if slices.Contains(deferred, name) {
			continue
		}
		if err := alterSystem(ctx, conn, name, value); err != nil {
			msg := undo()
			diags.AddAttributeError(path.Root("settings").AtMapKey(name), summary, fmt.Sprintf(
				"Setting %s = %q on %s failed: the server said: %v. %s", name, value, pm.target(), err, msg))
			return
		}
		done = append(done, step{name, value})
	}
	after, err := reloadAndWait(ctx, conn, names, next)
	if err != nil {
		msg := undo()
		diags.AddError(summary, fmt.Sprintf("%v on %s. %s", err, pm.target(), msg))
		return
	}
	for _, name := range postgres.SortedNames(next) {
		if row, ok := after.get(name); ok && row.fileError != "" {
			msg := undo()
			diags.AddAttributeError(path.Root("settings").AtMapKey(name), summary, fmt.Sprintf(
				"The server reloaded its configuration but reports for %s: %s. %s", name, row.fileError, msg))
			return
		}
	}

	var pending []string
	for _, name := range names {
		if row, ok := after.get(name); ok && row.pending {
			pending = append(pending, name)
		}
	}
	if len(pending) > 0 && allowRestart {
		conn2, err := restartPostgres(ctx, tunnel, pm, restartArgs)
		if err == nil {
			conn.Close(ctx) //nolint:errcheck,gosec // replaced by the new connection
			conn = conn2
			err = setDeferred(ctx, conn, deferred, next)
		}
		if err == nil && len(deferred) > 0 {
			// An extension setting may itself need a restart
			// (pg_stat_statements.max): one more, now that it is known.
			var snap pgSnapshot
			if snap, err = readPgSettings(ctx, conn, deferred); err == nil && snap.anyPending() {
				var conn3 *pgx.Conn
				if conn3, err = restartPostgres(ctx, tunnel, pm, restartArgs); err == nil {
					conn.Close(ctx) //nolint:errcheck,gosec // replaced by the new connection
					conn = conn3
				}
			}
		}
		if err == nil {
			after, err = readPgSettings(ctx, conn, names)
		}
		if err == nil {
			for _, name := range pending {
				row, _ := after.get(name)
				if row.pending || (next[name] != "" && !postgres.Equal(row.meta, row.meta.Setting, next[name])) {
					err = fmt.Errorf("after the restart %s is %s, not %s", name, row.display, next[name])
					break
				}
			}
		}
		if err != nil {
			// The server's complaint first: the rollback's restart adds
			// lines of its own.
			lines := postgresLogLines(ctx, tunnel, dataDir)
			changed := slices.Clone(deferred)
			for _, s := range done {
				changed = append(changed, s.name)
			}
			msg := rollbackPostgresRestart(ctx, tunnel, pm, restartArgs, dataDir, autoConf, changed)
			detail := fmt.Sprintf("Restarting PostgreSQL on %s for %s failed: %v.", tunnel.Config(), strings.Join(pending, ", "), err)
			if len(lines) > 0 {
				detail += "\n\nThe server said:\n  " + strings.Join(lines, "\n  ")
			}
			diags.AddAttributeError(path.Root("settings"), summary, detail+"\n\n"+msg+" Use values this host can run with.")
			return
		}
	}
	tflog.Info(ctx, "postgres settings applied", map[string]any{"server": pm.target(), "changed": len(done), "pending_restart": pending})
	if next != nil {
		m.ID = types.StringValue(pm.target())
		m.PendingRestart, m.Effective = after.status(next, diags)
		prev := map[string]string{}
		for name := range next {
			if v, ok := previous[name]; ok {
				prev[name] = v
			} else if row, ok := before.get(name); ok && row.auto != nil && (old == nil || !hasKey(old, name)) {
				prev[name] = *row.auto
			}
		}
		m.PreviousValues = mapValue(prev, diags)
	}
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

// setDeferred sets the extension settings that became known with the
// restart that loaded their library, and reloads.
func setDeferred(ctx context.Context, conn *pgx.Conn, names []string, next map[string]string) error {
	if len(names) == 0 {
		return nil
	}
	for _, name := range names {
		if err := alterSystem(ctx, conn, name, next[name]); err != nil {
			return fmt.Errorf("setting %s = %q after the restart: the server said: %w", name, next[name], err)
		}
	}
	sub := map[string]string{}
	for _, n := range names {
		sub[n] = next[n]
	}
	_, err := reloadAndWait(ctx, conn, names, sub)
	return err
}

// alterSystem sets (or, for "", resets) one setting. ALTER SYSTEM takes no
// parameters: the name is quoted as an identifier and the value as a
// literal, both by the driver.
func alterSystem(ctx context.Context, conn *pgx.Conn, name, value string) error {
	ident := pgx.Identifier{name}.Sanitize()
	if value == "" {
		_, err := conn.Exec(ctx, "ALTER SYSTEM RESET "+ident)
		return err
	}
	items := []string{value}
	if postgres.IsList(name) {
		items = postgres.ListItems(value)
	}
	lits := make([]string, len(items))
	for i, item := range items {
		lit, err := conn.PgConn().EscapeString(item)
		if err != nil {
			return fmt.Errorf("%w (the resource needs standard_conforming_strings = on)", err)
		}
		lits[i] = "'" + lit + "'"
	}
	_, err := conn.Exec(ctx, "ALTER SYSTEM SET "+ident+" = "+strings.Join(lits, ", "))
	return err
}

// reloadAndWait reloads the configuration and waits until this session
// has read it (pg_conf_load_time moves on), then checks that every setting
// of next shows its new value or waits for a restart. It returns the
// snapshot of all names (reset ones too).
func reloadAndWait(ctx context.Context, conn *pgx.Conn, names []string, next map[string]string) (pgSnapshot, error) {
	var loaded time.Time
	if err := conn.QueryRow(ctx, "SELECT pg_conf_load_time()").Scan(&loaded); err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "SELECT pg_reload_conf()"); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		var now time.Time
		if err := conn.QueryRow(ctx, "SELECT pg_conf_load_time()").Scan(&now); err != nil {
			return nil, err
		}
		if now.After(loaded) {
			break
		}
		if time.Now().After(deadline) {
			return nil, errors.New("the server did not reload its configuration within 15s")
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	snap, err := readPgSettings(ctx, conn, names)
	if err != nil {
		return nil, err
	}
	var lagging []string
	for name, want := range next {
		row, ok := snap.get(name)
		if got, _ := row.live(); ok && !row.pending && !postgres.Equal(row.meta, got, want) {
			lagging = append(lagging, name)
		}
	}
	if len(lagging) > 0 {
		slices.Sort(lagging)
		return nil, fmt.Errorf("after pg_reload_conf() the server does not show the new value of %s", strings.Join(lagging, ", "))
	}
	return snap, nil
}

var clusterNamePattern = regexp.MustCompile(`^([0-9]+)/([A-Za-z0-9_.-]+)$`)

// restartArgv is how the server is restarted: the user's command, or
// pg_ctlcluster for a Debian-style cluster ("15/main").
func restartArgv(ctx context.Context, conn *pgx.Conn, custom []string) ([]string, error) {
	if len(custom) > 0 {
		return custom, nil
	}
	var cluster string
	if err := conn.QueryRow(ctx, "SELECT current_setting('cluster_name')").Scan(&cluster); err != nil {
		return nil, err
	}
	if m := clusterNamePattern.FindStringSubmatch(cluster); m != nil {
		return []string{"pg_ctlcluster", m[1], m[2], "restart"}, nil
	}
	return nil, fmt.Errorf("the server's cluster_name %q is not a Debian cluster (version/name), so it is not known how to restart it: set restart_command", cluster)
}

// restartPostgres restarts the server with argv and returns a new
// connection once it accepts one.
func restartPostgres(ctx context.Context, tunnel *remote.Client, pm postgresModel, argv []string) (*pgx.Conn, error) {
	if len(argv) == 0 {
		return nil, errors.New("no restart command is known for this server: set restart_command")
	}
	res, err := tunnel.Run(ctx, argv, nil)
	if err != nil {
		return nil, fmt.Errorf("running %q: %w", strings.Join(argv, " "), err)
	}
	if res.ExitCode != 0 {
		return nil, fmt.Errorf("%q exited %d: %s", strings.Join(argv, " "), res.ExitCode, strings.TrimSpace(string(res.Stdout)+string(res.Stderr)))
	}
	return waitAccepting(ctx, pm, tunnel)
}

// waitAccepting connects until the server accepts, for pgRestartWait.
func waitAccepting(ctx context.Context, pm postgresModel, tunnel *remote.Client) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, pgRestartWait)
	defer cancel()
	var last error
	for {
		cfg, err := pm.pgConfig(tunnel, 5*time.Second)
		if err != nil {
			return nil, err
		}
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err == nil {
			return conn, nil
		}
		last = err
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("the server did not accept connections within %s: %w", pgRestartWait, last)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// rollbackPostgresRestart puts the settings this apply changed back in
// postgresql.auto.conf as they were before it (autoConf), keeping every
// other line as it is now: another run's ALTER SYSTEM since then stays. It
// then starts the server on it. The caller holds the host lock.
func rollbackPostgresRestart(ctx context.Context, tunnel *remote.Client, pm postgresModel, argv []string, dataDir string, autoConf remote.FileState, changed []string) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout+pgRestartWait)
	defer cancel()
	file := dataDir + "/postgresql.auto.conf"
	files, err := tunnel.ReadFiles(ctx, file)
	if err == nil {
		restored := postgres.RestoreAutoConf(files[0].Data, autoConf.Data, changed)
		err = tunnel.SetFile(ctx, file, remote.FileState{Exists: files[0].Exists || autoConf.Exists, Data: restored}, 0o600)
	}
	if err != nil {
		return fmt.Sprintf("Putting back %s also failed, so the server may not start: %v.", file, err)
	}
	what := fmt.Sprintf("What %s held before for %s (other lines as they are now)", file, strings.Join(changed, ", "))
	if res, err := tunnel.Run(ctx, argv, nil); err != nil || res.ExitCode != 0 {
		return fmt.Sprintf("%s was put back, but %q did not start the server: %v", what, strings.Join(argv, " "), errors.Join(err, exitErr(res)))
	}
	conn, err := waitAccepting(ctx, pm, tunnel)
	if err != nil {
		return fmt.Sprintf("%s was put back, but the server did not come back: %v.", what, err)
	}
	conn.Close(ctx) //nolint:errcheck,gosec // only a check
	return what + " was put back and the server runs on it again."
}

func exitErr(res *remote.Result) error {
	if res == nil || res.ExitCode == 0 {
		return nil
	}
	return fmt.Errorf("exit %d: %s", res.ExitCode, strings.TrimSpace(string(res.Stderr)))
}

// postgresLogLines returns the server's complaints from the end of its
// log: Debian's per-cluster file, named after the data directory
// (/var/lib/postgresql/15/main logs to /var/log/postgresql/postgresql-15-main.log).
func postgresLogLines(ctx context.Context, tunnel *remote.Client, dataDir string) []string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	parts := strings.Split(strings.TrimSuffix(dataDir, "/"), "/")
	if len(parts) < 2 {
		return nil
	}
	logFile := fmt.Sprintf("/var/log/postgresql/postgresql-%s-%s.log", parts[len(parts)-2], parts[len(parts)-1])
	out, err := tunnel.Output(ctx, []string{"tail", "-n", "80", "--", logFile}, nil)
	if err != nil {
		return nil
	}
	return postgres.LogErrors(string(out), 6)
}

// unknownSettingDetail says a name is unknown, with the nearest known one.
func unknownSettingDetail(ctx context.Context, conn *pgx.Conn, name string, pm postgresModel) string {
	detail := fmt.Sprintf("%q is not a setting of the server at %s.", name, pm.target())
	rows, err := conn.Query(ctx, "SELECT name FROM pg_settings")
	if err == nil {
		known, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err == nil {
			if s := postgres.Suggest(name, known); s != "" {
				detail += fmt.Sprintf(" Did you mean %q?", s)
			}
		}
	}
	return detail + " Nothing was changed."
}
