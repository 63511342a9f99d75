package provider

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
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

	"github.com/mcpai/terraform-provider-mcpai/internal/redisconf"
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
