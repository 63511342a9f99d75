package provider

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/mcpai/terraform-provider-mcpai/internal/postgres"
)

var (
	_ resource.Resource                   = (*postgresTuningResource)(nil)
	_ resource.ResourceWithConfigure      = (*postgresTuningResource)(nil)
	_ resource.ResourceWithValidateConfig = (*postgresTuningResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*postgresTuningResource)(nil)
	_ resource.ResourceWithImportState    = (*postgresTuningResource)(nil)
)

const pgRestartWait = 90 * time.Second

type postgresTuningResource struct {
	data *providerData
}

func newPostgresTuningResource() resource.Resource { return &postgresTuningResource{} }

type postgresTuningModel struct {
	ID             types.String   `tfsdk:"id"`
	Postgres       types.Object   `tfsdk:"postgres"`
	SSH            types.Object   `tfsdk:"ssh"`
	Settings       types.Map      `tfsdk:"settings"`
	Restart        types.String   `tfsdk:"restart"`
	RestartCommand types.List     `tfsdk:"restart_command"`
	PendingRestart types.Set      `tfsdk:"pending_restart"`
	PreviousValues types.Map      `tfsdk:"previous_values"`
	Effective      types.Map      `tfsdk:"effective"`
	Timeouts       timeouts.Value `tfsdk:"timeouts"`
}

func (m *postgresTuningModel) timeoutsBlock() timeouts.Value { return m.Timeouts }

func (r *postgresTuningResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_postgres_tuning"
}

func (r *postgresTuningResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "PostgreSQL server settings through `ALTER SYSTEM`, e.g. the sizes `provider::mcpai::pgtune` computes. " +
			"Every name is checked against `pg_settings` (an unknown one gets the nearest known name) and every value against its type, unit and range before anything is written; " +
			"a setting the server refuses puts back the ones already set. Values compare unit-aware (`4096MB` equals `4GB`). " +
			"Settings that need a restart are listed in `pending_restart`; with `restart = \"allowed\"` and `ssh`, the server is restarted, checked, and rolled back (previous `postgresql.auto.conf`, started again, the server's own log lines in the error) if it does not come back.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "`host:port/database`.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"postgres": postgresAttribute(),
			"ssh":      optionalSSHAttribute("Optional: the server's host over SSH. The connection then goes through an SSH tunnel, and restarts become possible."),
			"settings": schema.MapAttribute{
				MarkdownDescription: "Settings to set, name to value as `postgresql.conf` takes them, e.g. `shared_buffers = \"4GB\"`.",
				Required:            true,
				ElementType:         types.StringType,
				Validators: []validator.Map{
					mapvalidator.SizeAtLeast(1),
					mapvalidator.KeysAre(stringCheck{"Invalid Setting Name", "must be a PostgreSQL setting name", postgres.ValidateName}),
				},
			},
			"restart": schema.StringAttribute{
				MarkdownDescription: "`never` (default): apply what a reload applies and list the rest in `pending_restart`. `allowed`: restart the server through `ssh` when a setting needs it (`pg_ctlcluster` on Debian-style hosts, which uses systemd where it runs, or `restart_command`), wait until it accepts connections and check the values.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(restartNever),
				Validators:          []validator.String{stringvalidator.OneOf(restartNever, restartAllowed)},
			},
			"restart_command": restartCommandAttribute("The command that restarts the server on the SSH host, as arguments (no shell), e.g. `[\"systemctl\", \"restart\", \"postgresql@15-main\"]`. By default `pg_ctlcluster <version> <cluster> restart`, from the server's `cluster_name`."),
			"pending_restart": schema.SetAttribute{
				MarkdownDescription: "Managed settings whose new value waits for a server restart.",
				Computed:            true,
				ElementType:         types.StringType,
			},
			"previous_values": schema.MapAttribute{
				MarkdownDescription: "What `postgresql.auto.conf` set for each managed name before this resource first set it; destroy (or dropping a name) puts these back, and resets names not listed. For an imported resource, the values found at import.",
				Computed:            true,
				ElementType:         types.StringType,
			},
			"effective": schema.MapAttribute{
				MarkdownDescription: "The live value of each managed setting, as `SHOW` prints it.",
				Computed:            true,
				ElementType:         types.StringType,
			},
			"timeouts": timeouts.Attributes(ctx, timeouts.Opts{Create: true, Read: true, Update: true, Delete: true}),
		},
	}
}

func (r *postgresTuningResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configureData(req.ProviderData, &resp.Diagnostics)
}

func (r *postgresTuningResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m postgresTuningModel
	if resp.Diagnostics.Append(req.Config.Get(ctx, &m)...); resp.Diagnostics.HasError() {
		return
	}
	serviceChecks{
		restartDoes:    "restarts the server on its host",
		refuse:         postgres.IsSecret,
		refusalSummary: "Secret PostgreSQL Setting",
		refusalDetail:  "%q can hold a password, and settings are shown in plans and kept in state in plain text. Set it outside Terraform.",
	}.validate(ctx, req.Config, m.SSH, m.Restart, m.Settings, &resp.Diagnostics)
}

// ModifyPlan keeps pending_restart and effective while the settings stay
// the same (unless a restart is now allowed and something is pending).
func (r *postgresTuningResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || req.State.Raw.IsNull() {
		return
	}
	var plan, state postgresTuningModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if plan.Restart.ValueString() == restartAllowed && len(state.PendingRestart.Elements()) > 0 {
		plan.PendingRestart = types.SetValueMust(types.StringType, nil)
		plan.Effective = types.MapUnknown(types.StringType)
		resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
	}
}

func (r *postgresTuningResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan postgresTuningModel
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

func (r *postgresTuningResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state postgresTuningModel
	ctx, cancel, ok := begin(ctx, req.State, &state, timeouts.Value.Read, defaultReadTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}
	conn, _, pm, diags := r.data.connectPostgres(ctx, state.Postgres, state.SSH)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	defer conn.Close(context.WithoutCancel(ctx)) //nolint:errcheck // closing a connection we only read on
	managed, _ := stringMap(ctx, state.Settings, &resp.Diagnostics)
	snap, err := readPgSettings(ctx, conn, postgres.SortedNames(managed))
	if err != nil {
		resp.Diagnostics.Append(postgresError("Unable to Read PostgreSQL Settings", pm, nil, err))
		return
	}
	observed := map[string]string{}
	for name, want := range managed {
		row, ok := snap.get(name)
		if !ok {
			continue // no longer known to the server: the plan sets it again
		}
		// A setting waiting for a restart is judged by what is configured.
		got, configured := row.live()
		switch {
		case postgres.Equal(row.meta, got, want):
			observed[name] = want
		case configured:
			observed[name] = got
		default:
			observed[name] = row.display
		}
	}
	state.Settings = mapValue(observed, &resp.Diagnostics)
	state.PendingRestart, state.Effective = snap.status(managed, &resp.Diagnostics)
	if state.PreviousValues.IsNull() {
		// Imported: nothing is known of before, so destroy leaves the
		// values as they are now.
		prev := map[string]string{}
		for name := range managed {
			if row, ok := snap.get(name); ok && row.auto != nil {
				prev[name] = *row.auto
			}
		}
		state.PreviousValues = mapValue(prev, &resp.Diagnostics)
	}
	state.ID = types.StringValue(pm.target())
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *postgresTuningResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state postgresTuningModel
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

func (r *postgresTuningResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state postgresTuningModel
	ctx, cancel, ok := begin(ctx, req.State, &state, timeouts.Value.Delete, defaultApplyTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}
	old, _ := stringMap(ctx, state.Settings, &resp.Diagnostics)
	previous, _ := stringMap(ctx, state.PreviousValues, &resp.Diagnostics)
	r.apply(ctx, &state, old, nil, previous, &resp.Diagnostics)
}

func (r *postgresTuningResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	// host:port/database/name,name — credentials from PGUSER, PGPASSWORD and PGSSLMODE.
	i := strings.LastIndex(req.ID, "/")
	j := strings.Index(req.ID, "/")
	if i <= 0 || i == j {
		resp.Diagnostics.AddError("Invalid Import ID", fmt.Sprintf("%q is not host:port/database/name,name: use e.g. 10.0.0.5:5432/postgres/shared_buffers,work_mem. The user, password and sslmode come from PGUSER, PGPASSWORD and PGSSLMODE.", req.ID))
		return
	}
	hostPort, database, names := req.ID[:j], req.ID[j+1:i], strings.Split(req.ID[i+1:], ",")
	settings := map[string]string{}
	for _, n := range names {
		if err := postgres.ValidateName(n); err != nil {
			resp.Diagnostics.AddError("Invalid Import ID", err.Error())
			return
		}
		settings[n] = "" // Read fills in the live value
	}
	pgObj, diags := postgresObjectFromEnv(ctx, hostPort, database)
	resp.Diagnostics.Append(diags...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("postgres"), pgObj)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("settings"), mapValue(settings, &resp.Diagnostics))...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("restart"), restartNever)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), hostPort+"/"+database)...)
}
