package provider

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strconv"
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
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
	"github.com/mcpai/terraform-provider-mcpai/internal/sysctl"
)

var (
	_ resource.Resource                   = (*hostSysctlResource)(nil)
	_ resource.ResourceWithConfigure      = (*hostSysctlResource)(nil)
	_ resource.ResourceWithValidateConfig = (*hostSysctlResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*hostSysctlResource)(nil)
	_ resource.ResourceWithImportState    = (*hostSysctlResource)(nil)
)

const (
	defaultSysctlFile = "/etc/sysctl.d/90-mcpai.conf"
	sysctlFileMode    = 0o644
	rollbackTimeout   = 2 * time.Minute
)

// sysctlFilePattern: a .conf file in one of the folders sysctl reads at boot,
// or /etc/sysctl.conf; nothing else, so a typo cannot overwrite an unrelated
// configuration file.
var sysctlFilePattern = regexp.MustCompile(`^(/etc/sysctl\.conf|(/etc|/run|/usr/local/lib|/usr/lib|/lib)/sysctl\.d/[A-Za-z0-9_.@+-]+\.conf)$`)

type hostSysctlResource struct {
	data *providerData
}

func newHostSysctlResource() resource.Resource { return &hostSysctlResource{} }

type hostSysctlModel struct {
	ID                  types.String   `tfsdk:"id"`
	SSH                 types.Object   `tfsdk:"ssh"`
	Settings            types.Map      `tfsdk:"settings"`
	File                types.String   `tfsdk:"file"`
	Content             types.String   `tfsdk:"content"`
	PreviousValues      types.Map      `tfsdk:"previous_values"`
	PreviousFileContent types.String   `tfsdk:"previous_file_content"`
	Timeouts            timeouts.Value `tfsdk:"timeouts"`
}

func (m *hostSysctlModel) timeoutsBlock() timeouts.Value { return m.Timeouts }
func (m *hostSysctlModel) sshBlock() types.Object        { return m.SSH }

func (r *hostSysctlResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_host_sysctl"
}

func (r *hostSysctlResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Kernel parameters (sysctls) set live and persisted in one sysctl.d file that this resource owns. " +
			"Every key is checked to exist and be writable before anything is written; the file is replaced atomically; " +
			"if any value is refused, the values already applied and the old file are put back. " +
			"`terraform plan` shows drift of live values and of the file; `terraform destroy` restores the values (and file) that were there before. " + ledgerNote,
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "`host:file`.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"ssh": resourceSSHAttribute(),
			"settings": schema.MapAttribute{
				MarkdownDescription: "Kernel parameters to set, key to value, e.g. `\"net.core.somaxconn\" = \"65535\"`. Multi-field values may use spaces or tabs (`\"4096 87380 16777216\"`); they compare whitespace-normalised.",
				Required:            true,
				ElementType:         types.StringType,
				Validators: []validator.Map{
					mapvalidator.SizeAtLeast(1),
					mapvalidator.KeysAre(sysctlKeyValidator()),
					mapvalidator.ValueStringsAre(sysctlValueValidator()),
				},
			},
			"file": schema.StringAttribute{
				MarkdownDescription: "The sysctl.d file this resource owns and persists the settings in. One resource per file. Defaults to `" + defaultSysctlFile + "`. Changing it replaces the resource.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(defaultSysctlFile),
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators: []validator.String{stringvalidator.RegexMatches(sysctlFilePattern,
					"must be a .conf file in a sysctl.d folder (/etc/sysctl.d, /run/sysctl.d, /usr/lib/sysctl.d, ...) or /etc/sysctl.conf, e.g. /etc/sysctl.d/90-mcpai.conf"),
					noDotDotValidator()},
			},
			"content": schema.StringAttribute{
				MarkdownDescription: "The file's content as rendered from `settings`; after a refresh, the content found on the host, so an edited file shows as drift.",
				Computed:            true,
			},
			"previous_values": schema.MapAttribute{
				MarkdownDescription: "Live values found before this resource first set each key; destroy (or dropping a key) writes them back. For an imported resource these are the values found at import.",
				Computed:            true,
				ElementType:         types.StringType,
			},
			"previous_file_content": schema.StringAttribute{
				MarkdownDescription: "Content of `file` before this resource first wrote it (after a lost state, as the host's ledger recorded it), restored on destroy; null when there was no file.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"timeouts": timeouts.Attributes(ctx, timeouts.Opts{Create: true, Read: true, Update: true, Delete: true}),
		},
	}
}

func (r *hostSysctlResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configureData(req.ProviderData, &resp.Diagnostics)
}

func (r *hostSysctlResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	resp.Diagnostics.Append(insecureWarning(ctx, req.Config, path.Root("ssh"))...)
}

// ModifyPlan shows the file that will be written and keeps the recorded
// previous values stable when no key is added.
func (r *hostSysctlResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	// Only the attributes involved are read and written: this runs for
	// every resource on every plan.
	var planned types.Map
	if resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("settings"), &planned)...); resp.Diagnostics.HasError() {
		return
	}
	settings, known := stringMap(ctx, planned, &resp.Diagnostics)
	if !known {
		return
	}
	previousValues := types.MapUnknown(types.StringType)
	if !req.State.Raw.IsNull() {
		var recorded types.Map
		if resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("previous_values"), &recorded)...); resp.Diagnostics.HasError() {
			return
		}
		previous, _ := stringMap(ctx, recorded, &resp.Diagnostics)
		if kept, ok := restrict(previous, settings); ok {
			previousValues = mapValue(kept, &resp.Diagnostics)
		}
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("content"), string(sysctl.Render(settings)))...)
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("previous_values"), previousValues)...)
}

func (r *hostSysctlResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan hostSysctlModel
	ctx, cancel, client, ok := r.data.beginOnHost(ctx, req.Plan, &plan, timeouts.Value.Create, defaultApplyTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}
	next, _ := stringMap(ctx, plan.Settings, &resp.Diagnostics)
	file := plan.File.ValueString()
	res, diags := applySysctl(ctx, client, file, nil, next, nil, nil)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	plan.ID = types.StringValue(sysctlID(client.Config(), file))
	plan.Content = types.StringValue(string(sysctl.Render(next)))
	plan.PreviousValues = mapValue(res.previous, &resp.Diagnostics)
	plan.PreviousFileContent = types.StringNull()
	if res.fileBefore.Exists {
		plan.PreviousFileContent = types.StringValue(string(res.fileBefore.Data))
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *hostSysctlResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state hostSysctlModel
	ctx, cancel, client, ok := r.data.beginOnHost(ctx, req.State, &state, timeouts.Value.Read, defaultReadTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}
	settings, _ := stringMap(ctx, state.Settings, &resp.Diagnostics)
	file := state.File.ValueString()
	marker, diags := req.Private.GetKey(ctx, importMarker)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	importing := len(marker) > 0

	found, err := readSysctl(ctx, client, file, sysctl.SortedKeys(settings))
	if err != nil {
		resp.Diagnostics.Append(hostError("Unable to Read Sysctl Settings", "Reading "+file+" and its keys", client, err))
		return
	}
	if importing {
		if !found.file.Exists {
			resp.State.RemoveResource(ctx)
			return
		}
		fromFile, err := sysctl.ParseFile(found.file.Data)
		if err != nil {
			resp.Diagnostics.AddError("Unable to Import Sysctl Settings", fmt.Sprintf("%s on %s is not a sysctl.d file: %v. Fix or remove the file, then import again.", file, client.Config(), err))
			return
		}
		if found, err = readSysctl(ctx, client, file, sysctl.SortedKeys(fromFile)); err != nil {
			resp.Diagnostics.Append(hostError("Unable to Read Sysctl Settings", "Reading "+file+" and its keys", client, err))
			return
		}
		settings = fromFile
		// Nothing is known of the values before the import: destroy keeps
		// what is live now and removes the file.
		state.PreviousValues = mapValue(normalized(found.live), &resp.Diagnostics)
		state.PreviousFileContent = types.StringNull()
		resp.Diagnostics.Append(resp.Private.SetKey(ctx, importMarker, nil)...)
	}

	observed := map[string]string{}
	for k, want := range settings {
		live, ok := found.live[k]
		switch {
		case !ok:
			tflog.Warn(ctx, "sysctl key no longer exists on the host", map[string]any{"key": k})
		case sysctl.Equal(live, want):
			observed[k] = want // keep the configured spelling
		default:
			observed[k] = sysctl.Normalize(live)
		}
	}
	state.Settings = mapValue(observed, &resp.Diagnostics)
	state.Content = types.StringNull()
	if found.file.Exists {
		state.Content = types.StringValue(string(found.file.Data))
	}
	state.ID = types.StringValue(sysctlID(client.Config(), file))
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *hostSysctlResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state hostSysctlModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	ctx, cancel, client, ok := r.data.beginOnHost(ctx, req.Plan, &plan, timeouts.Value.Update, defaultApplyTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}
	next, _ := stringMap(ctx, plan.Settings, &resp.Diagnostics)
	old, _ := stringMap(ctx, state.Settings, &resp.Diagnostics)
	previous, _ := stringMap(ctx, state.PreviousValues, &resp.Diagnostics)
	statePrevious := &remote.FileState{}
	if !state.PreviousFileContent.IsNull() {
		statePrevious = &remote.FileState{Exists: true, Data: []byte(state.PreviousFileContent.ValueString())}
	}
	res, diags := applySysctl(ctx, client, plan.File.ValueString(), old, next, previous, statePrevious)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	plan.ID = types.StringValue(sysctlID(client.Config(), plan.File.ValueString()))
	plan.Content = types.StringValue(string(sysctl.Render(next)))
	plan.PreviousValues = mapValue(res.previous, &resp.Diagnostics)
	plan.PreviousFileContent = state.PreviousFileContent
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *hostSysctlResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state hostSysctlModel
	ctx, cancel, client, ok := r.data.beginOnHost(ctx, req.State, &state, timeouts.Value.Delete, defaultApplyTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}
	old, _ := stringMap(ctx, state.Settings, &resp.Diagnostics)
	previous, _ := stringMap(ctx, state.PreviousValues, &resp.Diagnostics)
	_, diags := applySysctl(ctx, client, state.File.ValueString(), old, nil, previous, nil)
	resp.Diagnostics.Append(diags...)
}

func (r *hostSysctlResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	// host:file, host:port:file or [v6]:port:file; the file is absolute, so
	// the last ":/" separates it.
	i := strings.LastIndex(req.ID, ":/")
	if i <= 0 {
		resp.Diagnostics.AddError("Invalid Import ID", fmt.Sprintf("%q is not host:file: use e.g. 10.0.0.5:/etc/sysctl.d/90-mcpai.conf (or host:port:file). Credentials come from the provider's ssh block or MCPAI_SSH_* variables.", req.ID))
		return
	}
	hostPort, file := req.ID[:i], req.ID[i+1:]
	if !sysctlFilePattern.MatchString(file) || strings.Contains(file, "..") {
		resp.Diagnostics.AddError("Invalid Import ID", fmt.Sprintf("%q is not a .conf file in a sysctl.d folder or /etc/sysctl.conf.", file))
		return
	}
	sshObj, diags := sshObjectForHost(ctx, hostPort)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("ssh"), sshObj)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("file"), file)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("settings"), types.MapValueMust(types.StringType, nil))...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("previous_values"), types.MapValueMust(types.StringType, nil))...)
	// Read fills in the settings from the file when it sees this marker.
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, importMarker, []byte(`{"importing":true}`))...)
}

// importMarker is the private-state key that tells Read an import is in
// progress.
const importMarker = "import"

// sysctlID is host:file, or host:port:file off the default port, the same
// form ImportState accepts.
func sysctlID(cfg remote.Config, file string) string { return hostID(cfg) + ":" + file }

// hostID is host, or host:port off the default port.
func hostID(cfg remote.Config) string {
	if cfg.Port != 0 && cfg.Port != 22 {
		return net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	}
	return cfg.Host
}

func normalized(values map[string]string) map[string]string {
	out := make(map[string]string, len(values))
	for k, v := range values {
		out[k] = sysctl.Normalize(v)
	}
	return out
}
