package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-jsontypes/jsontypes"
	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/mcpai/terraform-provider-mcpai/internal/dockerd"
	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
)

var (
	_ resource.Resource                   = (*dockerDaemonConfigResource)(nil)
	_ resource.ResourceWithConfigure      = (*dockerDaemonConfigResource)(nil)
	_ resource.ResourceWithValidateConfig = (*dockerDaemonConfigResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*dockerDaemonConfigResource)(nil)
	_ resource.ResourceWithImportState    = (*dockerDaemonConfigResource)(nil)
)

const (
	restartAuto       = "auto"
	restartReloadOnly = "reload_only"
	restartNever      = "never"

	defaultHealthTimeout = "60s"
	dockerFileMode       = 0o644
)

// dockerConfigPathPattern: an absolute .json path without "..", so a typo
// cannot point the resource at an unrelated file.
var dockerConfigPathPattern = regexp.MustCompile(`^/[A-Za-z0-9_.@+/-]+\.json$`)

type dockerDaemonConfigResource struct {
	data *providerData
}

func newDockerDaemonConfigResource() resource.Resource { return &dockerDaemonConfigResource{} }

type dockerDaemonConfigModel struct {
	ID              types.String         `tfsdk:"id"`
	SSH             types.Object         `tfsdk:"ssh"`
	Path            types.String         `tfsdk:"path"`
	Config          jsontypes.Normalized `tfsdk:"config"`
	Restart         types.String         `tfsdk:"restart"`
	RestartCommand  types.List           `tfsdk:"restart_command"`
	HealthTimeout   types.String         `tfsdk:"health_timeout"`
	PreviousContent types.String         `tfsdk:"previous_content"`
	PendingRestart  types.List           `tfsdk:"pending_restart"`
	Validation      types.String         `tfsdk:"validation"`
	Effective       types.Object         `tfsdk:"effective"`
	Timeouts        timeouts.Value       `tfsdk:"timeouts"`
}

func (m *dockerDaemonConfigModel) timeoutsBlock() timeouts.Value { return m.Timeouts }
func (m *dockerDaemonConfigModel) sshBlock() types.Object        { return m.SSH }

var effectiveAttrTypes = map[string]attr.Type{
	"server_version":  types.StringType,
	"storage_driver":  types.StringType,
	"logging_driver":  types.StringType,
	"cgroup_driver":   types.StringType,
	"live_restore":    types.BoolType,
	"root_dir":        types.StringType,
	"default_runtime": types.StringType,
	"runtimes":        types.ListType{ElemType: types.StringType},
}

func (r *dockerDaemonConfigResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_docker_daemon_config"
}

func (r *dockerDaemonConfigResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	computedString := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{MarkdownDescription: desc, Computed: true}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Docker's `daemon.json`, applied safely: validated before it is written (`dockerd --validate` where the engine has it, a check of known keys otherwise), " +
			"refused when a key is also passed as a flag by the service, written atomically, applied by a reload (SIGHUP) when every changed key allows it and a restart otherwise, " +
			"and verified through the Engine API over an SSH tunnel to the daemon's socket. If the daemon does not come back healthy, the old file is put back and the daemon restarted on it, " +
			"and the error quotes the daemon's own log lines. `terraform plan` shows an edited file, and a file the running daemon has not applied yet. " + ledgerNote,
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "`host:path`; also the import ID.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"ssh": resourceSSHAttribute(),
			"path": schema.StringAttribute{
				MarkdownDescription: "The daemon's configuration file. Defaults to `" + dockerd.DefaultPath + "`. Changing it replaces the resource.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(dockerd.DefaultPath),
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators: []validator.String{
					stringvalidator.RegexMatches(dockerConfigPathPattern, "must be an absolute path to a .json file, e.g. "+dockerd.DefaultPath),
					noDotDotValidator(),
				},
			},
			"config": schema.StringAttribute{
				MarkdownDescription: "The configuration as a JSON object, usually `jsonencode({...})`. Compared semantically: key order and whitespace never show as a change. The file is written with sorted keys and two-space indentation.",
				Required:            true,
				CustomType:          jsontypes.NormalizedType{},
				Validators:          []validator.String{daemonJSONValidator()},
			},
			"restart": schema.StringAttribute{
				MarkdownDescription: "How a change takes effect: `auto` (default) reloads (SIGHUP) when every changed key is one Docker reloads and restarts otherwise; `reload_only` fails, before writing anything, when a restart would be needed; `never` only writes the file and reports what is pending in `pending_restart`.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(restartAuto),
				Validators:          []validator.String{stringvalidator.OneOf(restartAuto, restartReloadOnly, restartNever)},
			},
			"restart_command": restartCommandAttribute("The command that restarts the daemon, as arguments (no shell), e.g. `[\"rc-service\", \"docker\", \"restart\"]`. By default `systemctl restart docker.service` on systemd hosts and `service docker restart` elsewhere."),
			"health_timeout": schema.StringAttribute{
				MarkdownDescription: "How long to wait for the daemon to answer `/_ping` and `/info` after a reload or restart, as a Go duration. Defaults to `" + defaultHealthTimeout + "`.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(defaultHealthTimeout),
				Validators:          []validator.String{durationValidator{}},
			},
			"previous_content": schema.StringAttribute{
				MarkdownDescription: "The file as it was before this resource first wrote it, put back on destroy; null when there was none (destroy then removes the file). For an imported resource, the file at import, so destroy leaves it.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"pending_restart": schema.ListAttribute{
				MarkdownDescription: "Keys the file sets that the running daemon does not show yet (it was written but not restarted). With `restart = \"never\"` this is the expected state; otherwise a non-empty list plans a restart.",
				Computed:            true,
				ElementType:         types.StringType,
			},
			"validation": computedString("How the last applied file was validated: `dockerd --validate`, or `known keys` on engines older than Docker 23 (a partial check)."),
			"effective": schema.SingleNestedAttribute{
				MarkdownDescription: "What the running daemon reports (`GET /info`).",
				Computed:            true,
				Attributes: map[string]schema.Attribute{
					"server_version":  computedString("Engine version."),
					"storage_driver":  computedString("Storage driver in use."),
					"logging_driver":  computedString("Default logging driver."),
					"cgroup_driver":   computedString("Cgroup driver."),
					"live_restore":    schema.BoolAttribute{MarkdownDescription: "Whether containers survive a daemon restart.", Computed: true},
					"root_dir":        computedString("Data root."),
					"default_runtime": computedString("Default OCI runtime."),
					"runtimes":        schema.ListAttribute{MarkdownDescription: "Configured OCI runtimes, sorted.", Computed: true, ElementType: types.StringType},
				},
			},
			"timeouts": timeouts.Attributes(ctx, timeouts.Opts{Create: true, Read: true, Update: true, Delete: true}),
		},
	}
}

func (r *dockerDaemonConfigResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configureData(req.ProviderData, &resp.Diagnostics)
}

func (r *dockerDaemonConfigResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	resp.Diagnostics.Append(insecureWarning(ctx, req.Config, path.Root("ssh"))...)
}

// ModifyPlan plans a restart when the running daemon has not applied the
// file yet, unless the resource was told to leave that pending. Otherwise
// the framework's own rule stands: unchanged configuration keeps the
// computed values, a change makes them unknown until the apply.
func (r *dockerDaemonConfigResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || req.State.Raw.IsNull() {
		return
	}
	var plan, state dockerDaemonConfigModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || plan.Restart.IsUnknown() {
		return
	}
	if plan.Restart.ValueString() != restartNever && len(state.PendingRestart.Elements()) > 0 {
		// The apply restarts or reloads the daemon, so nothing stays
		// pending; what it then reports is known only after.
		plan.PendingRestart = types.ListValueMust(types.StringType, nil)
		plan.Effective = types.ObjectUnknown(effectiveAttrTypes)
		plan.Validation = types.StringUnknown()
		resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
	}
}

func (r *dockerDaemonConfigResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan dockerDaemonConfigModel
	ctx, cancel, client, ok := r.data.beginOnHost(ctx, req.Plan, &plan, timeouts.Value.Create, defaultApplyTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}
	op, diags := dockerOperationFrom(ctx, plan)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	op.creating = true
	res, diags := applyDockerConfig(ctx, client, op)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	plan.PreviousContent = types.StringNull()
	if res.before.Exists {
		plan.PreviousContent = types.StringValue(string(res.before.Data))
	}
	setDockerResult(&plan, client, res, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *dockerDaemonConfigResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state dockerDaemonConfigModel
	ctx, cancel, client, ok := r.data.beginOnHost(ctx, req.State, &state, timeouts.Value.Read, defaultReadTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}
	marker, diags := req.Private.GetKey(ctx, importMarker)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	file := state.Path.ValueString()
	files, err := client.ReadFiles(ctx, file)
	if err != nil {
		resp.Diagnostics.Append(hostError("Unable to Read Docker Configuration", "Reading "+file, client, err))
		return
	}
	content := files[0]
	if len(marker) > 0 {
		if !content.Exists {
			resp.Diagnostics.AddError("Unable to Import Docker Configuration", fmt.Sprintf("%s does not exist on %s: there is nothing to import. Create the resource instead.", file, client.Config()))
			return
		}
		// Destroying an imported resource leaves the file as it was found.
		state.PreviousContent = types.StringValue(string(content.Data))
		resp.Diagnostics.Append(resp.Private.SetKey(ctx, importMarker, nil)...)
	}
	doc := dockerd.Document{}
	if content.Exists {
		// Canonical compact JSON, as jsonencode writes it: an imported
		// file then matches its configuration text, and the framework keeps
		// the configured spelling whenever the two are semantically equal.
		if doc, err = dockerd.Parse(content.Data); err == nil {
			state.Config = jsontypes.NewNormalizedValue(doc.String())
		} else {
			resp.Diagnostics.AddAttributeWarning(path.Root("config"), "Docker Configuration Is Not Valid JSON",
				fmt.Sprintf("%s on %s: %v. The next apply rewrites it.", file, client.Config(), err))
			state.Config = jsontypes.NewNormalizedValue(`{"mcpai-unparseable-file":true}`)
		}
	} else {
		state.Config = jsontypes.NewNormalizedNull()
	}
	eff, err := dockerEffective(ctx, client, doc)
	if err != nil {
		resp.Diagnostics.AddWarning("Docker Daemon Not Answering",
			fmt.Sprintf("The Engine API on %s did not answer (%v), so the running configuration could not be compared with %s.", client.Config(), err, file))
		state.Effective = types.ObjectNull(effectiveAttrTypes)
	} else {
		state.Effective = effectiveObject(eff, &resp.Diagnostics)
		state.PendingRestart = stringList(dockerd.Pending(hostView(ctx, client, doc), eff), &resp.Diagnostics)
	}
	state.ID = types.StringValue(sysctlID(client.Config(), file))
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *dockerDaemonConfigResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state dockerDaemonConfigModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	ctx, cancel, client, ok := r.data.beginOnHost(ctx, req.Plan, &plan, timeouts.Value.Update, defaultApplyTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}
	op, diags := dockerOperationFrom(ctx, plan)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	res, diags := applyDockerConfig(ctx, client, op)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	plan.PreviousContent = state.PreviousContent
	setDockerResult(&plan, client, res, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *dockerDaemonConfigResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state dockerDaemonConfigModel
	ctx, cancel, client, ok := r.data.beginOnHost(ctx, req.State, &state, timeouts.Value.Delete, defaultApplyTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}
	op, diags := dockerOperationFrom(ctx, state)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	op.target = remote.FileState{}
	if !state.PreviousContent.IsNull() {
		op.target = remote.FileState{Exists: true, Data: []byte(state.PreviousContent.ValueString())}
	}
	op.restoring = true
	_, diags = applyDockerConfig(ctx, client, op)
	resp.Diagnostics.Append(diags...)
}

func (r *dockerDaemonConfigResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	i := strings.LastIndex(req.ID, ":/")
	file := ""
	if i > 0 {
		file = req.ID[i+1:]
	}
	if i <= 0 || !dockerConfigPathPattern.MatchString(file) || strings.Contains(file, "..") {
		resp.Diagnostics.AddError("Invalid Import ID", fmt.Sprintf("%q is not host:path: use e.g. 10.0.0.5:/etc/docker/daemon.json (or host:port:path). Credentials come from the provider's ssh block or MCPAI_SSH_* variables.", req.ID))
		return
	}
	sshObj, diags := sshObjectForHost(ctx, req.ID[:i])
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("ssh"), sshObj)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("path"), file)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("restart"), restartAuto)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("health_timeout"), defaultHealthTimeout)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("pending_restart"), types.ListValueMust(types.StringType, nil))...)
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, importMarker, []byte(`{"importing":true}`))...)
}

func dockerOperationFrom(ctx context.Context, m dockerDaemonConfigModel) (dockerOperation, diag.Diagnostics) {
	var diags diag.Diagnostics
	op := dockerOperation{path: m.Path.ValueString(), restart: m.Restart.ValueString()}
	if !m.Config.IsNull() {
		doc, err := dockerd.Parse([]byte(m.Config.ValueString()))
		if err != nil {
			diags.AddAttributeError(path.Root("config"), "Invalid Docker Configuration", err.Error())
			return op, diags
		}
		op.target = remote.FileState{Exists: true, Data: doc.Indent()}
	}
	if !m.RestartCommand.IsNull() {
		diags.Append(m.RestartCommand.ElementsAs(ctx, &op.restartCommand, false)...)
	}
	var err error
	if op.healthTimeout, err = time.ParseDuration(m.HealthTimeout.ValueString()); err != nil {
		diags.AddAttributeError(path.Root("health_timeout"), "Invalid Duration", err.Error())
	}
	return op, diags
}

func setDockerResult(m *dockerDaemonConfigModel, client *remote.Client, res dockerResult, diags *diag.Diagnostics) {
	m.ID = types.StringValue(sysctlID(client.Config(), m.Path.ValueString()))
	m.Validation = types.StringValue(res.validation)
	m.PendingRestart = stringList(res.pending, diags)
	m.Effective = effectiveObject(res.effective, diags)
}

func stringList(items []string, diags *diag.Diagnostics) types.List {
	if items == nil {
		items = []string{}
	}
	v, d := types.ListValueFrom(context.Background(), types.StringType, items)
	diags.Append(d...)
	return v
}

func effectiveObject(e dockerd.Effective, diags *diag.Diagnostics) types.Object {
	v, d := types.ObjectValue(effectiveAttrTypes, map[string]attr.Value{
		"server_version":  types.StringValue(e.ServerVersion),
		"storage_driver":  types.StringValue(e.StorageDriver),
		"logging_driver":  types.StringValue(e.LoggingDriver),
		"cgroup_driver":   types.StringValue(e.CgroupDriver),
		"live_restore":    types.BoolValue(e.LiveRestore),
		"root_dir":        types.StringValue(e.RootDir),
		"default_runtime": types.StringValue(e.DefaultRuntime),
		"runtimes":        stringList(e.Runtimes, diags),
	})
	diags.Append(d...)
	return v
}
