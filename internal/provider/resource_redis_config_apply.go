package provider

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"github.com/redis/go-redis/v9"

	"github.com/mcpai/terraform-provider-mcpai/internal/redisconf"
	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
)

// mcpai_redis_config's apply steps: the live parameters, CONFIG SET (all at
// once on Redis 7), CONFIG REWRITE, the restart a parameter that needs one
// takes, and the rollback when any of them fails.

func redisNames(m map[string]string) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, strings.ToLower(k))
	}
	return names
}

// readRedis reads the named parameters and INFO server in one round trip
// (a pipeline: Redis 6 takes one pattern per CONFIG GET). A name the server
// does not know is absent from live.
func readRedis(ctx context.Context, rdb *redis.Client, names []string) (live, info map[string]string, err error) {
	gets := make([]*redis.MapStringStringCmd, len(names))
	var infoCmd *redis.StringCmd
	_, err = rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, n := range names {
			gets[i] = p.ConfigGet(ctx, n)
		}
		infoCmd = p.Info(ctx, "server")
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	live = map[string]string{}
	for i, n := range names {
		for k, v := range gets[i].Val() {
			if strings.EqualFold(k, n) {
				live[n] = v
			}
		}
	}
	return live, redisconf.ParseInfo(infoCmd.Val()), nil
}

// apply moves the server from old to next (empty: put previous back, for
// destroy) and records the outcome in m.
func (r *redisConfigResource) apply(ctx context.Context, m *redisConfigModel, old, next, previous map[string]string, diags *diag.Diagnostics) {
	const summary = "Unable to Apply Redis Configuration"
	if diags.HasError() {
		return
	}
	rdb, tunnel, rm, d := r.data.connectRedis(ctx, m.Redis, m.SSH)
	if diags.Append(d...); diags.HasError() {
		return
	}
	defer func() { _ = rdb.Close() }()
	unlock, d := lockHost(ctx, tunnel, summary, "mcpai_redis_config "+rm.Address.ValueString())
	if diags.Append(d...); diags.HasError() {
		return
	}
	defer unlock()
	allowRestart := m.Restart.ValueString() == restartAllowed && tunnel != nil
	persist := m.Persist.ValueBool()

	// The target of every parameter involved: next, and the previous value
	// of each one dropped.
	target := map[string]string{}
	for k, v := range next {
		target[strings.ToLower(k)] = v
	}
	for k := range old {
		if _, kept := next[k]; !kept {
			if v, ok := previous[k]; ok {
				target[strings.ToLower(k)] = v
			}
		}
	}
	live, info, err := readRedis(ctx, rdb, redisNames(target))
	if err != nil {
		diags.Append(redisError(summary, rm, tunnel, err))
		return
	}
	configFile := info["config_file"]

	// Validate everything before writing anything.
	var changes, immutable []string
	for _, name := range redisNames(target) {
		at := path.Root("settings").AtMapKey(name)
		want := target[name]
		cur, known := live[name]
		switch {
		case !known:
			diags.AddAttributeError(at, summary, fmt.Sprintf("%q is not a configuration parameter of Redis %s at %s. Check the name against `CONFIG GET *`. Nothing was changed.", name, info["redis_version"], rm.Address.ValueString()))
			continue
		case redisconf.Protected(name):
			diags.AddAttributeError(at, summary, fmt.Sprintf("%q: %s Set it in redis.conf, or remove it here. Nothing was changed.", name, redisconf.ProtectedNote))
			continue
		}
		if _, err := redisconf.Normalize(name, want); err != nil {
			diags.AddAttributeError(at, summary, fmt.Sprintf("%v. Nothing was changed.", err))
			continue
		}
		if redisconf.Equal(name, cur, want) {
			continue
		}
		if redisconf.Immutable(name) {
			immutable = append(immutable, name)
		} else {
			changes = append(changes, name)
		}
	}
	if len(immutable) > 0 && !allowRestart {
		diags.AddAttributeError(path.Root("settings").AtMapKey(immutable[0]), summary, fmt.Sprintf(
			"%s cannot be changed while Redis runs (CONFIG SET refuses it): it takes effect only from the config file at start. Add ssh and restart = \"allowed\" to have it written to %s and Redis restarted, or change it by hand. Nothing was changed.",
			strings.Join(immutable, ", "), orNone(configFile)))
	}
	if !persist && len(immutable) > 0 && len(changes) > 0 {
		diags.AddAttributeError(path.Root("persist"), summary, fmt.Sprintf(
			"%s need a restart, which would lose %s set live with persist = false. Set persist = true, or apply the two separately. Nothing was changed.",
			strings.Join(immutable, ", "), strings.Join(changes, ", ")))
	}
	if (persist || len(immutable) > 0) && configFile == "" && (len(changes) > 0 || len(immutable) > 0) {
		diags.AddAttributeError(path.Root("persist"), summary, fmt.Sprintf(
			"Redis at %s runs without a config file (INFO server shows no config_file), so CONFIG REWRITE cannot keep the values across a restart. Start it with a redis.conf, or set persist = false to apply them live only. Nothing was changed.", rm.Address.ValueString()))
	}
	if diags.HasError() {
		return
	}

	// Live changes, then the file.
	if len(changes) > 0 {
		if err := redisConfigSet(ctx, rdb, info["redis_version"], changes, target, live); err != nil {
			diags.Append(redisSetError(summary, rm, err))
			return
		}
	}
	undoLive := func() string {
		uctx, ucancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
		defer ucancel()
		if err := redisConfigSet(uctx, rdb, info["redis_version"], changes, live, target); err != nil {
			return "Putting the previous values back also failed, so the server may be half-applied: " + err.Error() + "."
		}
		if persist && len(changes) > 0 {
			if err := rdb.ConfigRewrite(uctx).Err(); err != nil {
				return "The previous values were put back live, but rewriting the config file failed: " + err.Error() + "."
			}
		}
		return "The previous values were put back; nothing was changed."
	}
	if persist && len(changes) > 0 {
		if err := rdb.ConfigRewrite(ctx).Err(); err != nil {
			msg := undoLive()
			_, detail := redisconf.ClassifyError(err.Error())
			diags.AddAttributeError(path.Root("persist"), summary, fmt.Sprintf(
				"CONFIG REWRITE of %s on %s failed: %s. The file must be writable by Redis (not read-only, not a single bind-mounted file). %s Or set persist = false.",
				orNone(configFile), rm.Address.ValueString(), detail, msg))
			return
		}
	}
	if len(immutable) > 0 {
		fresh, err := restartRedisWith(ctx, tunnel, rdb, m, configFile, immutable, target)
		// The restart ended the old client's connections.
		_ = rdb.Close()
		rdb = fresh
		if err != nil {
			msg := undoLive()
			diags.AddAttributeError(path.Root("settings").AtMapKey(immutable[0]), summary, fmt.Sprintf("%v. %s", err, msg))
			return
		}
	}
	tflog.Info(ctx, "redis configuration applied", map[string]any{"address": rm.Address.ValueString(), "live": changes, "restart": immutable})

	// Record the outcome (not for destroy).
	if len(next) == 0 {
		return
	}
	after, info, err := readRedis(ctx, rdb, redisNames(next))
	if err != nil {
		diags.Append(redisError(summary, rm, tunnel, err))
		return
	}
	prev := map[string]string{}
	for k := range next {
		if v, ok := previous[k]; ok {
			prev[k] = v
		} else {
			prev[k] = live[strings.ToLower(k)]
		}
	}
	m.PreviousValues = mapValue(prev, diags)
	m.Effective = mapValue(after, diags)
	m.RedisVersion = types.StringValue(info["redis_version"])
	m.ConfigFile = types.StringValue(info["config_file"])
	m.ID = types.StringValue(rm.Address.ValueString())
}

func orNone(file string) string {
	if file == "" {
		return "(no config file)"
	}
	return file
}

// redisConfigSet sets names to values: one CONFIG SET of all pairs on
// Redis 7 (the server applies all or none), one by one on older servers,
// putting back the ones already set (from before) when a later one fails.
func redisConfigSet(ctx context.Context, rdb *redis.Client, version string, names []string, values, before map[string]string) error {
	if len(names) == 0 {
		return nil
	}
	if major, _, _ := strings.Cut(version, "."); atoiOr(major, 0) >= 7 {
		args := []any{"config", "set"}
		for _, n := range names {
			args = append(args, n, values[n])
		}
		return rdb.Do(ctx, args...).Err()
	}
	for i, n := range names {
		if err := rdb.ConfigSet(ctx, n, values[n]).Err(); err != nil {
			var undo []error
			for _, done := range names[:i] {
				if uerr := rdb.ConfigSet(context.WithoutCancel(ctx), done, before[done]).Err(); uerr != nil {
					undo = append(undo, fmt.Errorf("putting %s back: %w", done, uerr))
				}
			}
			if len(undo) > 0 {
				return fmt.Errorf("%w; and the rollback failed, so the server may be half-applied: %w", err, errors.Join(undo...))
			}
			return err
		}
	}
	return nil
}

func atoiOr(s string, def int) int {
	if v, err := strconv.Atoi(s); err == nil {
		return v
	}
	return def
}

// redisSetError explains a refused CONFIG SET, naming the parameter.
func redisSetError(summary string, rm redisModel, err error) diag.Diagnostic {
	kind, detail := redisconf.ClassifyError(err.Error())
	if kind == redisconf.KindInvalid || kind == redisconf.KindImmutable || kind == redisconf.KindUnknownParameter {
		at := path.Root("settings")
		if detail != "" {
			at = at.AtMapKey(detail)
		}
		// Redis's own words, unless the failed rollback needs saying too.
		said := err.Error()
		outcome := " Nothing was changed."
		if strings.Contains(said, "rollback failed") {
			outcome = ""
		}
		return diag.NewAttributeErrorDiagnostic(at, summary, fmt.Sprintf(
			"Redis at %s refused the change of %s: %s.%s", rm.Address.ValueString(), detail, said, outcome))
	}
	return redisError(summary, rm, nil, err)
}

// restartRedisWith writes the immutable parameters into the config file,
// restarts Redis and checks them; on failure the file goes back and Redis
// is started on it again. It returns a client with fresh connections.
func restartRedisWith(ctx context.Context, tunnel *remote.Client, old *redis.Client, m *redisConfigModel, configFile string, names []string, target map[string]string) (*redis.Client, error) {
	rdb := redis.NewClient(old.Options())
	files, err := tunnel.ReadFiles(ctx, configFile)
	if err != nil {
		return rdb, fmt.Errorf("reading %s on %s: %w", configFile, tunnel.Config(), err)
	}
	if !files[0].Exists {
		return rdb, fmt.Errorf("%s does not exist on %s: the server's config file must be on the SSH host", configFile, tunnel.Config())
	}
	before := remote.FileState{Exists: true, Data: files[0].Data}
	content := string(before.Data)
	for _, n := range names {
		content = redisconf.SetInConfigFile(content, n, target[n])
	}
	if _, err := tunnel.WriteFileAtomic(ctx, configFile, []byte(content), 0o640); err != nil {
		return rdb, err
	}
	var custom []string
	if !m.RestartCommand.IsNull() {
		_ = m.RestartCommand.ElementsAs(ctx, &custom, false)
	}
	restart := func(ctx context.Context) error {
		argv := custom
		if len(argv) == 0 {
			argv = []string{"sh", "-c", redisRestartScript}
		}
		res, err := tunnel.Run(ctx, argv, nil)
		if err != nil {
			return err
		}
		if res.ExitCode != 0 {
			return fmt.Errorf("%q exited %d: %s", strings.Join(argv, " "), res.ExitCode, strings.TrimSpace(string(res.Stdout)+string(res.Stderr)))
		}
		wctx, cancel := context.WithTimeout(ctx, redisRestartWait)
		defer cancel()
		for {
			if err := rdb.Ping(wctx).Err(); err == nil {
				return nil
			} else if wctx.Err() != nil {
				return fmt.Errorf("no answer within %s after the restart: %w", redisRestartWait, err)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	err = restart(ctx)
	if err == nil {
		live, _, rerr := readRedis(ctx, rdb, names)
		for _, n := range names {
			if rerr == nil && !redisconf.Equal(n, live[n], target[n]) {
				rerr = fmt.Errorf("after the restart %s is %q, not %q", n, live[n], target[n])
			}
		}
		err = rerr
	}
	if err == nil {
		return rdb, nil
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	msg := fmt.Sprintf("Restarting Redis on %s for %s failed: %v.", tunnel.Config(), strings.Join(names, ", "), err)
	if werr := tunnel.SetFile(rctx, configFile, before, 0o640); werr != nil {
		return rdb, fmt.Errorf("%s Putting %s back also failed: %w", msg, configFile, werr)
	}
	if rerr := restart(rctx); rerr != nil {
		return rdb, fmt.Errorf("%s %s was put back, but Redis did not come back on it: %w", msg, configFile, rerr)
	}
	return rdb, fmt.Errorf("%s %s was put back and Redis runs on it again", msg, configFile)
}

// redisRestartScript restarts redis-server the way the host runs it.
const redisRestartScript = `if [ -d /run/systemd/system ]; then exec systemctl restart redis-server; fi
exec service redis-server restart`
