package provider

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"github.com/redis/go-redis/v9"

	"github.com/mcpai/terraform-provider-mcpai/internal/redisconf"
	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
)

var (
	_ resource.Resource                   = (*redisConfigResource)(nil)
	_ resource.ResourceWithConfigure      = (*redisConfigResource)(nil)
	_ resource.ResourceWithValidateConfig = (*redisConfigResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*redisConfigResource)(nil)
	_ resource.ResourceWithImportState    = (*redisConfigResource)(nil)
)

const redisRestartWait = 60 * time.Second

type redisConfigResource struct {
	data *providerData
}

func newRedisConfigResource() resource.Resource { return &redisConfigResource{} }

type redisConfigModel struct {
	ID             types.String   `tfsdk:"id"`
	Redis          types.Object   `tfsdk:"redis"`
	SSH            types.Object   `tfsdk:"ssh"`
	Settings       types.Map      `tfsdk:"settings"`
	Persist        types.Bool     `tfsdk:"persist"`
	Restart        types.String   `tfsdk:"restart"`
	RestartCommand types.List     `tfsdk:"restart_command"`
	RedisVersion   types.String   `tfsdk:"redis_version"`
	ConfigFile     types.String   `tfsdk:"config_file"`
	Effective      types.Map      `tfsdk:"effective"`
	PreviousValues types.Map      `tfsdk:"previous_values"`
	Timeouts       timeouts.Value `tfsdk:"timeouts"`
}

func (m *redisConfigModel) timeoutsBlock() timeouts.Value { return m.Timeouts }

func (r *redisConfigResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_redis_config"
}

func (r *redisConfigResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	// Not kept from state on change: a restart may start a newer binary.
	computed := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{MarkdownDescription: desc, Computed: true}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Redis configuration applied live with `CONFIG SET` (all parameters in one command on Redis 7, all-or-nothing; one by one with rollback on Redis 6) and persisted with `CONFIG REWRITE`. " +
			"Values compare unit-aware (`8gb` equals `8589934592`; `1k` is 1000, `1kb` 1024), `save` in any spacing. " +
			"Parameters Redis cannot change at runtime (`tcp-backlog`, `databases`, ...) are written to the config file and applied by a restart when `ssh` and `restart = \"allowed\"` are given, and refused before anything changes otherwise. " +
			"Destroy puts back the values found before.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "The server's address.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"redis": redisAttribute(),
			"ssh":   optionalSSHAttribute("Optional: the server's host over SSH. The connection then goes through an SSH tunnel, and the config file and restarts become reachable."),
			"settings": schema.MapAttribute{
				MarkdownDescription: "Parameters to set, name to value as `redis.conf` takes them, e.g. `maxmemory = \"8gb\"`, `save = \"900 1 300 10 60 10000\"`.",
				Required:            true,
				ElementType:         types.StringType,
				Validators: []validator.Map{
					mapvalidator.SizeAtLeast(1),
					mapvalidator.KeysAre(stringCheck{"Invalid Redis Parameter", "must be a Redis configuration parameter name", redisconf.ValidateName}),
				},
			},
			"persist": schema.BoolAttribute{
				MarkdownDescription: "Run `CONFIG REWRITE` after every change, so the values survive a restart. Default `true`; the server must have been started with a config file it can write.",
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(true),
			},
			"restart": schema.StringAttribute{
				MarkdownDescription: "`never` (default): parameters Redis cannot change at runtime are refused. `allowed`: with `ssh`, they are written to the config file and applied by a restart (`systemctl restart redis-server` on systemd hosts, `service redis-server restart` elsewhere, or `restart_command`), then checked.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(restartNever),
				Validators:          []validator.String{stringvalidator.OneOf(restartNever, restartAllowed)},
			},
			"restart_command": restartCommandAttribute("The command that restarts the server on the SSH host, as arguments (no shell)."),
			"redis_version":   computed("The server's version (`INFO server`)."),
			"config_file":     computed("The config file the server was started with; empty when none."),
			"effective": schema.MapAttribute{
				MarkdownDescription: "The live value of each managed parameter, as `CONFIG GET` returns it.",
				Computed:            true,
				ElementType:         types.StringType,
			},
			"previous_values": schema.MapAttribute{
				MarkdownDescription: "Values found before this resource first set each parameter; destroy (or dropping a parameter) puts them back.",
				Computed:            true,
				ElementType:         types.StringType,
			},
			"timeouts": timeouts.Attributes(ctx, timeouts.Opts{Create: true, Read: true, Update: true, Delete: true}),
		},
	}
}

func (r *redisConfigResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configureData(req.ProviderData, &resp.Diagnostics)
}

func (r *redisConfigResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m redisConfigModel
	if resp.Diagnostics.Append(req.Config.Get(ctx, &m)...); resp.Diagnostics.HasError() {
		return
	}
	serviceChecks{
		restartDoes:    "writes the config file and restarts Redis on its host",
		refuse:         redisconf.Sensitive,
		refusalSummary: "Secret Redis Parameter",
		refusalDetail:  "%q holds a secret, and settings are shown in plans and kept in state in plain text. Set it in redis.conf or with ACL SETUSER outside Terraform.",
	}.validate(ctx, req.Config, m.SSH, m.Restart, m.Settings, &resp.Diagnostics)
}

// ModifyPlan keeps the recorded previous values while no parameter is
// added, and the live values while the settings stay the same.
func (r *redisConfigResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || req.State.Raw.IsNull() {
		return
	}
	var plan, state redisConfigModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	next, known := stringMap(ctx, plan.Settings, &resp.Diagnostics)
	if !known {
		return
	}
	previous, _ := stringMap(ctx, state.PreviousValues, &resp.Diagnostics)
	if kept, ok := restrict(previous, next); ok {
		plan.PreviousValues = mapValue(kept, &resp.Diagnostics)
		resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
	}
}

func (r *redisConfigResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan redisConfigModel
	ctx, cancel, ok := begin(ctx, req.Plan, &plan, timeouts.Value.Create, defaultApplyTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}
	next, _ := stringMap(ctx, plan.Settings, &resp.Diagnostics)
	r.apply(ctx, &plan, nil, next, nil, &resp.Diagnostics)
	if !resp.Diagnostics.HasError() {
		resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	}
}

func (r *redisConfigResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state redisConfigModel
	ctx, cancel, ok := begin(ctx, req.State, &state, timeouts.Value.Read, defaultReadTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}
	rdb, tunnel, rm, diags := r.data.connectRedis(ctx, state.Redis, state.SSH)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	defer rdb.Close() //nolint:errcheck // read only
	managed, _ := stringMap(ctx, state.Settings, &resp.Diagnostics)
	live, info, err := readRedis(ctx, rdb, redisNames(managed))
	if err != nil {
		resp.Diagnostics.Append(redisError("Unable to Read Redis Configuration", rm, tunnel, err))
		return
	}
	importing := state.PreviousValues.IsNull()
	observed := map[string]string{}
	for name, want := range managed {
		got, ok := live[name]
		switch {
		case !ok:
			tflog.Warn(ctx, "redis parameter no longer known", map[string]any{"name": name})
		case redisconf.Equal(name, got, want):
			observed[name] = want
		default:
			observed[name] = got
		}
	}
	state.Settings = mapValue(observed, &resp.Diagnostics)
	state.Effective = mapValue(live, &resp.Diagnostics)
	if importing {
		state.PreviousValues = mapValue(live, &resp.Diagnostics)
	}
	state.RedisVersion = types.StringValue(info["redis_version"])
	state.ConfigFile = types.StringValue(info["config_file"])
	state.ID = types.StringValue(rm.Address.ValueString())
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *redisConfigResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state redisConfigModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	ctx, cancel, ok := begin(ctx, req.Plan, &plan, timeouts.Value.Update, defaultApplyTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}
	old, _ := stringMap(ctx, state.Settings, &resp.Diagnostics)
	next, _ := stringMap(ctx, plan.Settings, &resp.Diagnostics)
	previous, _ := stringMap(ctx, state.PreviousValues, &resp.Diagnostics)
	r.apply(ctx, &plan, old, next, previous, &resp.Diagnostics)
	if !resp.Diagnostics.HasError() {
		resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	}
}

func (r *redisConfigResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state redisConfigModel
	ctx, cancel, ok := begin(ctx, req.State, &state, timeouts.Value.Delete, defaultApplyTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}
	old, _ := stringMap(ctx, state.Settings, &resp.Diagnostics)
	previous, _ := stringMap(ctx, state.PreviousValues, &resp.Diagnostics)
	r.apply(ctx, &state, old, map[string]string{}, previous, &resp.Diagnostics)
}

func (r *redisConfigResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	// address/name,name — the password from REDISCLI_AUTH, as redis-cli.
	addr, list, ok := strings.Cut(req.ID, "/")
	if !ok || addr == "" || list == "" {
		resp.Diagnostics.AddError("Invalid Import ID", fmt.Sprintf("%q is not address/name,name: use e.g. 10.0.0.5:6379/maxmemory,maxmemory-policy. The password comes from REDISCLI_AUTH (and the user from REDIS_USERNAME).", req.ID))
		return
	}
	settings := map[string]string{}
	for _, n := range strings.Split(list, ",") {
		if err := redisconf.ValidateName(n); err != nil {
			resp.Diagnostics.AddError("Invalid Import ID", err.Error())
			return
		}
		settings[n] = ""
	}
	m := redisModel{Address: types.StringValue(addr), Username: types.StringNull(), Password: types.StringNull(), DB: types.Int64Null(), TLS: types.ObjectNull(redisTLSAttrTypes)}
	if v := os.Getenv("REDIS_USERNAME"); v != "" {
		m.Username = types.StringValue(v)
	}
	if v, ok := os.LookupEnv("REDISCLI_AUTH"); ok {
		m.Password = types.StringValue(v)
	}
	obj, diags := types.ObjectValueFrom(ctx, redisAttrTypes, m)
	resp.Diagnostics.Append(diags...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("redis"), obj)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("settings"), mapValue(settings, &resp.Diagnostics))...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("persist"), true)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("restart"), restartNever)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), addr)...)
}

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
