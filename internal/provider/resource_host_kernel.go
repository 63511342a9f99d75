package provider

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/mcpai/terraform-provider-mcpai/internal/kernel"
	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
)

var (
	_ resource.Resource                   = (*hostKernelResource)(nil)
	_ resource.ResourceWithConfigure      = (*hostKernelResource)(nil)
	_ resource.ResourceWithValidateConfig = (*hostKernelResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*hostKernelResource)(nil)
	_ resource.ResourceWithImportState    = (*hostKernelResource)(nil)
)

const kernelFileMode = 0o644

type hostKernelResource struct {
	data *providerData
}

func newHostKernelResource() resource.Resource { return &hostKernelResource{} }

type hostKernelModel struct {
	ID                  types.String   `tfsdk:"id"`
	SSH                 types.Object   `tfsdk:"ssh"`
	CPUGovernor         types.String   `tfsdk:"cpu_governor"`
	CPUGovernorOptional types.Bool     `tfsdk:"cpu_governor_optional"`
	THPEnabled          types.String   `tfsdk:"transparent_hugepage_enabled"`
	THPDefrag           types.String   `tfsdk:"transparent_hugepage_defrag"`
	NoFile              types.Object   `tfsdk:"nofile_limit"`
	NProc               types.Object   `tfsdk:"nproc_limit"`
	Files               types.Map      `tfsdk:"files"`
	PreviousValues      types.Map      `tfsdk:"previous_values"`
	PreviousFiles       types.Map      `tfsdk:"previous_files"`
	Timeouts            timeouts.Value `tfsdk:"timeouts"`
}

func (m *hostKernelModel) timeoutsBlock() timeouts.Value { return m.Timeouts }
func (m *hostKernelModel) sshBlock() types.Object        { return m.SSH }

type limitModel struct {
	Soft types.String `tfsdk:"soft"`
	Hard types.String `tfsdk:"hard"`
}

var limitAttrTypes = map[string]attr.Type{"soft": types.StringType, "hard": types.StringType}

func limitAttribute(item, desc string) schema.SingleNestedAttribute {
	value := func(which string) schema.StringAttribute {
		d := "The " + which + " limit: a whole number"
		if item == kernel.NProc {
			d += " or `unlimited`"
		}
		return schema.StringAttribute{
			MarkdownDescription: d + ".",
			Required:            true,
			Validators:          []validator.String{limitValueValidator(item)},
		}
	}
	return schema.SingleNestedAttribute{
		MarkdownDescription: desc,
		Optional:            true,
		Attributes:          map[string]schema.Attribute{"soft": value("soft"), "hard": value("hard")},
	}
}

func (r *hostKernelResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_host_kernel"
}

func (r *hostKernelResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Host settings outside sysctl: the CPU frequency governor, transparent huge pages and the open-file and process limits. " +
			"Sysfs values are written live (on every online CPU) and persisted in `" + kernel.TmpfilesFile + "` (systemd-tmpfiles `w` lines, applied at boot); " +
			"limits go to `" + kernel.LimitsFile + "` (login sessions, pam_limits) and `" + kernel.SystemdFile + "` (services, `DefaultLimitNOFILE`/`DefaultLimitNPROC`). " +
			"Every value is checked against what the host offers before anything is written; a failed write puts back the values and files already changed. " +
			"`terraform plan` shows drift of the live values and of the files; `terraform destroy` restores the live values found before and the files as they were. " +
			"Kernel parameters such as `fs.file-max` belong to `mcpai_host_sysctl`. One `mcpai_host_kernel` per host. " + ledgerNote,
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "The host, as `host` or `host:port`; also the import ID.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"ssh": resourceSSHAttribute(),
			"cpu_governor": schema.StringAttribute{
				MarkdownDescription: "CPU frequency governor for every CPU, e.g. `performance`. Must be one of the host's `scaling_available_governors`. " +
					"Hosts without cpufreq (most cloud VMs) have no governor: see `cpu_governor_optional`.",
				Optional:   true,
				Validators: []validator.String{governorValidator()},
			},
			"cpu_governor_optional": schema.BoolAttribute{
				MarkdownDescription: "When `true`, a host without cpufreq skips `cpu_governor` with a warning instead of an error (the boot-time line is still written, and takes effect if the host gains cpufreq). Default `false`.",
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(false),
			},
			"transparent_hugepage_enabled": schema.StringAttribute{
				MarkdownDescription: "Transparent huge pages mode: `always`, `madvise` or `never` (databases and Redis want `never`). Must be a mode the host's kernel lists.",
				Optional:            true,
				Validators:          []validator.String{stringvalidator.OneOf("always", "madvise", "never")},
			},
			"transparent_hugepage_defrag": schema.StringAttribute{
				MarkdownDescription: "Transparent huge pages defrag mode: `always`, `defer`, `defer+madvise`, `madvise` or `never`. Must be a mode the host's kernel lists.",
				Optional:            true,
				Validators:          []validator.String{stringvalidator.OneOf("always", "defer", "defer+madvise", "madvise", "never")},
			},
			"nofile_limit": limitAttribute(kernel.NoFile,
				"Open-file limit (`nofile`) for login sessions (every user and root) and the default for systemd services. The hard limit may not exceed the host's `fs.nr_open`. Takes effect for new sessions and newly started services."),
			"nproc_limit": limitAttribute(kernel.NProc,
				"Process limit (`nproc`) for login sessions (every user and root) and the default for systemd services. Takes effect for new sessions and newly started services."),
			"files": schema.MapAttribute{
				MarkdownDescription: "The files this resource persists the settings in, path to content; after a refresh, what is on the host, so an edited or removed file shows as drift.",
				Computed:            true,
				ElementType:         types.StringType,
			},
			"previous_values": schema.MapAttribute{
				MarkdownDescription: "Live sysfs values found before this resource first set them, path to value; destroy (or dropping a setting) writes them back. For an imported resource, the values found at import.",
				Computed:            true,
				ElementType:         types.StringType,
			},
			"previous_files": schema.MapAttribute{
				MarkdownDescription: "Content of files that existed before this resource took them over, path to content; destroy puts them back. Files not listed are removed on destroy.",
				Computed:            true,
				ElementType:         types.StringType,
			},
			"timeouts": timeouts.Attributes(ctx, timeouts.Opts{Create: true, Read: true, Update: true, Delete: true}),
		},
	}
}

func (r *hostKernelResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configureData(req.ProviderData, &resp.Diagnostics)
}

func (r *hostKernelResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	resp.Diagnostics.Append(insecureWarning(ctx, req.Config, path.Root("ssh"))...)
	var m hostKernelModel
	if resp.Diagnostics.Append(req.Config.Get(ctx, &m)...); resp.Diagnostics.HasError() {
		return
	}
	if m.CPUGovernor.IsNull() && m.THPEnabled.IsNull() && m.THPDefrag.IsNull() && m.NoFile.IsNull() && m.NProc.IsNull() {
		resp.Diagnostics.AddError("Nothing to Manage",
			"Set at least one of cpu_governor, transparent_hugepage_enabled, transparent_hugepage_defrag, nofile_limit or nproc_limit.")
	}
	for _, l := range []struct {
		item string
		obj  types.Object
	}{{kernel.NoFile, m.NoFile}, {kernel.NProc, m.NProc}} {
		limit, known := limitFrom(ctx, l.obj, &resp.Diagnostics)
		if !known || limit == nil {
			continue
		}
		// A value that does not parse is the attribute validator's to report.
		_, _, softErr := kernel.ParseLimitValue(l.item, limit.Soft)
		_, _, hardErr := kernel.ParseLimitValue(l.item, limit.Hard)
		if softErr != nil || hardErr != nil {
			continue
		}
		if err := limit.Check(l.item, 0); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root(l.item+"_limit"), "Invalid Limit", err.Error()+".")
		}
	}
}

// ModifyPlan shows the files that will be written, and keeps the recorded
// previous values and files while the managed settings and owned files stay
// the same (only then does an apply leave them as they are).
func (r *hostKernelResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan hostKernelModel
	if resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...); resp.Diagnostics.HasError() {
		return
	}
	next, known := settingsFrom(ctx, plan, &resp.Diagnostics)
	if !known {
		return
	}
	rendered := next.Render()
	plan.Files = mapValue(rendered, &resp.Diagnostics)
	plan.PreviousValues = types.MapUnknown(types.StringType)
	plan.PreviousFiles = types.MapUnknown(types.StringType)
	if !req.State.Raw.IsNull() {
		var state hostKernelModel
		if resp.Diagnostics.Append(req.State.Get(ctx, &state)...); resp.Diagnostics.HasError() {
			return
		}
		old, _ := settingsFrom(ctx, state, &resp.Diagnostics)
		if managedKnobs(old) == managedKnobs(next) {
			plan.PreviousValues = state.PreviousValues
		}
		if slices.Equal(slices.Sorted(maps.Keys(old.Render())), slices.Sorted(maps.Keys(rendered))) {
			plan.PreviousFiles = state.PreviousFiles
		}
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

func (r *hostKernelResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan hostKernelModel
	ctx, cancel, client, ok := r.data.beginOnHost(ctx, req.Plan, &plan, timeouts.Value.Create, defaultApplyTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}
	next, _ := settingsFrom(ctx, plan, &resp.Diagnostics)
	res, diags := applyKernel(ctx, client, kernelChange{next: next, optional: plan.CPUGovernorOptional.ValueBool()})
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	r.setApplied(&plan, client, next, res, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *hostKernelResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state hostKernelModel
	ctx, cancel, client, ok := r.data.beginOnHost(ctx, req.State, &state, timeouts.Value.Read, defaultReadTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}
	marker, diags := req.Private.GetKey(ctx, importMarker)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	importing := len(marker) > 0
	managed, _ := settingsFrom(ctx, state, &resp.Diagnostics)

	snap, err := readKernel(ctx, client, true)
	if err != nil {
		resp.Diagnostics.Append(hostError("Unable to Read Kernel Settings", "Reading the host's THP, cpufreq and limit files", client, err))
		return
	}
	// Only files carrying this resource's header are its own; a site's file
	// at the same path is never read as settings.
	ours := snap.ownFiles()
	if importing {
		if len(ours) == 0 {
			resp.Diagnostics.AddError("Unable to Import Kernel Settings", fmt.Sprintf(
				"None of %s on %s was written by mcpai_host_kernel (the first line would be %q). Create the resource instead of importing it.",
				strings.Join(kernel.Files, ", "), client.Config(), strings.TrimSpace(kernel.Header)))
			return
		}
		persisted, err := kernel.ParsePersisted(ours[kernel.TmpfilesFile], ours[kernel.LimitsFile])
		if err != nil {
			resp.Diagnostics.AddError("Unable to Import Kernel Settings", fmt.Sprintf("%v on %s. Fix or remove the file, then import again.", err, client.Config()))
			return
		}
		managed = persisted
		// Nothing is known of the values before the import: destroy keeps
		// what is live now and removes the files.
		state.PreviousValues = mapValue(snap.active(managed.Targets(snap.cpufreqCPUs())), &resp.Diagnostics)
		state.PreviousFiles = mapValue(map[string]string{}, &resp.Diagnostics)
		resp.Diagnostics.Append(resp.Private.SetKey(ctx, importMarker, nil)...)
	}

	// Live values: the configured one while every path agrees, else the
	// first that differs, so the plan shows it.
	observed := func(want string, paths ...string) types.String {
		if want == "" {
			return types.StringNull()
		}
		for _, p := range paths {
			if v, ok := snap.live[p]; ok && v != want {
				return types.StringValue(v)
			}
		}
		return types.StringValue(want)
	}
	var govPaths []string
	for _, c := range snap.cpufreqCPUs() {
		govPaths = append(govPaths, kernel.GovernorPath(c))
	}
	state.CPUGovernor = observed(managed.CPUGovernor, govPaths...)
	state.THPEnabled = observed(managed.THPEnabled, kernel.THPEnabledPath)
	state.THPDefrag = observed(managed.THPDefrag, kernel.THPDefragPath)
	// Managed limits live only in the files: report what they hold, or
	// nothing when the file is gone or no longer ours.
	if managed.NoFile != nil || managed.NProc != nil {
		persisted, err := kernel.ParsePersisted("", ours[kernel.LimitsFile])
		if err != nil {
			tflog.Warn(ctx, "the limits file is not one this resource wrote", map[string]any{"error": err.Error()})
		}
		managed.NoFile = keepIf(managed.NoFile, persisted.NoFile)
		managed.NProc = keepIf(managed.NProc, persisted.NProc)
	}
	state.NoFile = limitObject(managed.NoFile, &resp.Diagnostics)
	state.NProc = limitObject(managed.NProc, &resp.Diagnostics)
	// The files: those the settings render (as found, or absent) and any
	// other of ours, so an edited, removed or stray file is drift.
	found := map[string]string{}
	for p := range managed.Render() {
		if f := snap.files[p]; f.Exists {
			found[p] = string(f.Data)
		}
	}
	maps.Copy(found, ours)
	state.Files = mapValue(found, &resp.Diagnostics)
	state.ID = types.StringValue(hostID(client.Config()))
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *hostKernelResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state hostKernelModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	ctx, cancel, client, ok := r.data.beginOnHost(ctx, req.Plan, &plan, timeouts.Value.Update, defaultApplyTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}
	change := kernelChange{optional: plan.CPUGovernorOptional.ValueBool()}
	change.next, _ = settingsFrom(ctx, plan, &resp.Diagnostics)
	change.old, _ = settingsFrom(ctx, state, &resp.Diagnostics)
	change.previous, _ = stringMap(ctx, state.PreviousValues, &resp.Diagnostics)
	change.previousFiles, _ = stringMap(ctx, state.PreviousFiles, &resp.Diagnostics)
	res, diags := applyKernel(ctx, client, change)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	// Where the plan promised the recorded values, they stand: a CPU that
	// came online since has no previous governor to restore.
	planned := plan
	r.setApplied(&plan, client, change.next, res, &resp.Diagnostics)
	if !planned.PreviousValues.IsUnknown() {
		plan.PreviousValues = planned.PreviousValues
	}
	if !planned.PreviousFiles.IsUnknown() {
		plan.PreviousFiles = planned.PreviousFiles
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *hostKernelResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state hostKernelModel
	ctx, cancel, client, ok := r.data.beginOnHost(ctx, req.State, &state, timeouts.Value.Delete, defaultApplyTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}
	change := kernelChange{optional: true}
	change.old, _ = settingsFrom(ctx, state, &resp.Diagnostics)
	change.previous, _ = stringMap(ctx, state.PreviousValues, &resp.Diagnostics)
	change.previousFiles, _ = stringMap(ctx, state.PreviousFiles, &resp.Diagnostics)
	_, diags := applyKernel(ctx, client, change)
	resp.Diagnostics.Append(diags...)
}

func (r *hostKernelResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if req.ID == "" || strings.Contains(req.ID, "/") {
		resp.Diagnostics.AddError("Invalid Import ID", fmt.Sprintf("%q is not a host: use e.g. 10.0.0.5 or 10.0.0.5:2222. Credentials come from the provider's ssh block or MCPAI_SSH_* variables.", req.ID))
		return
	}
	sshObj, diags := sshObjectForHost(ctx, req.ID)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("ssh"), sshObj)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("cpu_governor_optional"), false)...)
	// Read fills in the settings from the files when it sees this marker.
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, importMarker, []byte(`{"importing":true}`))...)
}

// setApplied records an apply's outcome in the model.
func (r *hostKernelResource) setApplied(m *hostKernelModel, client *remote.Client, next kernel.Settings, res kernelResult, diags *diag.Diagnostics) {
	m.ID = types.StringValue(hostID(client.Config()))
	m.Files = mapValue(next.Render(), diags)
	m.PreviousValues = mapValue(res.previous, diags)
	m.PreviousFiles = mapValue(res.previousFiles, diags)
}

// settingsFrom reads the managed settings of a model; known is false while
// any of them is unknown.
func settingsFrom(ctx context.Context, m hostKernelModel, diags *diag.Diagnostics) (kernel.Settings, bool) {
	var s kernel.Settings
	for _, v := range []types.String{m.CPUGovernor, m.THPEnabled, m.THPDefrag} {
		if v.IsUnknown() {
			return s, false
		}
	}
	s.CPUGovernor, s.THPEnabled, s.THPDefrag = m.CPUGovernor.ValueString(), m.THPEnabled.ValueString(), m.THPDefrag.ValueString()
	var known bool
	if s.NoFile, known = limitFrom(ctx, m.NoFile, diags); !known {
		return s, false
	}
	if s.NProc, known = limitFrom(ctx, m.NProc, diags); !known {
		return s, false
	}
	return s, true
}

func limitFrom(ctx context.Context, obj types.Object, diags *diag.Diagnostics) (*kernel.Limit, bool) {
	if obj.IsUnknown() {
		return nil, false
	}
	if obj.IsNull() {
		return nil, true
	}
	var l limitModel
	diags.Append(obj.As(ctx, &l, asObject)...)
	if l.Soft.IsUnknown() || l.Hard.IsUnknown() {
		return nil, false
	}
	return &kernel.Limit{Soft: l.Soft.ValueString(), Hard: l.Hard.ValueString()}, true
}

func limitObject(l *kernel.Limit, diags *diag.Diagnostics) types.Object {
	if l == nil {
		return types.ObjectNull(limitAttrTypes)
	}
	v, d := types.ObjectValue(limitAttrTypes, map[string]attr.Value{"soft": types.StringValue(l.Soft), "hard": types.StringValue(l.Hard)})
	diags.Append(d...)
	return v
}

// managedKnobs names which live settings are managed, to tell whether the
// recorded previous values still cover the plan.
func managedKnobs(s kernel.Settings) string {
	return fmt.Sprint(s.CPUGovernor != "", s.THPEnabled != "", s.THPDefrag != "")
}

// keepIf returns found while the state manages a limit (want non-nil), so
// an unmanaged limit never appears in state.
func keepIf(want, found *kernel.Limit) *kernel.Limit {
	if want == nil {
		return nil
	}
	return found
}
