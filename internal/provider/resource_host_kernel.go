package provider

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
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
	"github.com/mcpai/terraform-provider-mcpai/internal/sysctl"
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
	if resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...); resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, defaultApplyTimeout)
	ctx, cancel, client, diags := r.data.begin(ctx, plan.SSH, timeout, diags)
	defer cancel()
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
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
	if resp.Diagnostics.Append(req.State.Get(ctx, &state)...); resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := state.Timeouts.Read(ctx, defaultReadTimeout)
	ctx, cancel, client, diags := r.data.begin(ctx, state.SSH, timeout, diags)
	defer cancel()
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
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
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Update(ctx, defaultApplyTimeout)
	ctx, cancel, client, diags := r.data.begin(ctx, plan.SSH, timeout, diags)
	defer cancel()
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
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
	if resp.Diagnostics.Append(req.State.Get(ctx, &state)...); resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := state.Timeouts.Delete(ctx, defaultApplyTimeout)
	ctx, cancel, client, diags := r.data.begin(ctx, state.SSH, timeout, diags)
	defer cancel()
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	change := kernelChange{optional: true}
	change.old, _ = settingsFrom(ctx, state, &resp.Diagnostics)
	change.previous, _ = stringMap(ctx, state.PreviousValues, &resp.Diagnostics)
	change.previousFiles, _ = stringMap(ctx, state.PreviousFiles, &resp.Diagnostics)
	_, diags = applyKernel(ctx, client, change)
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

// kernelSnapshot is what the host has: the persisted files, and the live
// sysfs values (the active word of THP selectors, each CPU's governor).
type kernelSnapshot struct {
	files      map[string]remote.FileState
	live       map[string]string   // path -> active value; only paths that exist
	choices    map[string][]string // path -> values the kernel offers
	online     []int
	cmdlineTHP string
	nrOpen     uint64
}

// cpufreqCPUs are the online CPUs that have a governor.
func (s kernelSnapshot) cpufreqCPUs() []int {
	var out []int
	for _, c := range s.online {
		if _, ok := s.live[kernel.GovernorPath(c)]; ok {
			out = append(out, c)
		}
	}
	return out
}

// active returns the live values of the given targets' paths.
func (s kernelSnapshot) active(targets map[string]string) map[string]string {
	out := map[string]string{}
	for p := range targets {
		if v, ok := s.live[p]; ok {
			out[p] = v
		}
	}
	return out
}

// ownFiles are the files, of the three, that carry this resource's header.
func (s kernelSnapshot) ownFiles() map[string]string {
	out := map[string]string{}
	for p, f := range s.files {
		if f.Exists && isOurs(f.Data) {
			out[p] = string(f.Data)
		}
	}
	return out
}

func isOurs(data []byte) bool { return strings.HasPrefix(string(data), kernel.Header) }

// keepIf returns found while the state manages a limit (want non-nil), so
// an unmanaged limit never appears in state.
func keepIf(want, found *kernel.Limit) *kernel.Limit {
	if want == nil {
		return nil
	}
	return found
}

// liveWord reads the value a sysfs file holds: the bracketed choice of a
// selector, or the trimmed text.
func liveWord(path, raw string) (string, []string, error) {
	if path == kernel.THPEnabledPath || path == kernel.THPDefragPath {
		return kernel.ParseSelector(raw)
	}
	return strings.TrimSpace(raw), nil, nil
}

// readKernel reads the files and live values in one round trip, plus one
// more for the CPUs' governors when withCPUs is set.
func readKernel(ctx context.Context, client *remote.Client, withCPUs bool) (kernelSnapshot, error) {
	first := append([]string{kernel.THPEnabledPath, kernel.THPDefragPath, kernel.CPUOnlinePath, kernel.CmdlinePath, kernel.NrOpenPath}, kernel.Files...)
	got, err := client.ReadFiles(ctx, first...)
	if err != nil {
		return kernelSnapshot{}, err
	}
	s := kernelSnapshot{files: map[string]remote.FileState{}, live: map[string]string{}, choices: map[string][]string{}}
	for _, f := range got[5:] {
		s.files[f.Path] = remote.FileState{Exists: f.Exists, Data: f.Data}
	}
	for _, f := range got[:2] {
		if !f.Exists {
			continue
		}
		active, choices, err := kernel.ParseSelector(string(f.Data))
		if err != nil {
			return s, fmt.Errorf("%s: %w", f.Path, err)
		}
		if active != "" {
			s.live[f.Path], s.choices[f.Path] = active, choices
		}
	}
	s.cmdlineTHP = kernel.CmdlineTHP(string(got[3].Data))
	if got[4].Exists {
		if s.nrOpen, err = strconv.ParseUint(strings.TrimSpace(string(got[4].Data)), 10, 64); err != nil {
			return s, fmt.Errorf("%s: %q is not a number", kernel.NrOpenPath, got[4].Data)
		}
	}
	if !withCPUs || !got[2].Exists {
		return s, nil
	}
	if s.online, err = kernel.CPUs(string(got[2].Data)); err != nil {
		return s, fmt.Errorf("%s: %w", kernel.CPUOnlinePath, err)
	}
	var paths []string
	for _, c := range s.online {
		paths = append(paths, kernel.GovernorPath(c), kernel.AvailableGovernorsPath(c))
	}
	if got, err = client.ReadFiles(ctx, paths...); err != nil {
		return s, err
	}
	for i := 0; i+1 < len(got); i += 2 {
		gov, avail := got[i], got[i+1]
		if !gov.Exists {
			continue
		}
		choices, err := kernel.ParseGovernors(string(avail.Data))
		if err != nil {
			return s, fmt.Errorf("%s: %w", avail.Path, err)
		}
		s.live[gov.Path] = strings.TrimSpace(string(gov.Data))
		s.choices[gov.Path] = choices
	}
	return s, nil
}

// kernelChange is one move of a host between settings: old is what the
// resource managed until now, next what it is to manage (empty on destroy).
type kernelChange struct {
	old, next     kernel.Settings
	optional      bool              // a missing cpufreq only warns
	previous      map[string]string // live values before the resource, by path
	previousFiles map[string]string // files that existed before the resource
}

type kernelResult struct {
	previous      map[string]string
	previousFiles map[string]string
}

// applyKernel makes the host match c.next under the host lock: it reads
// everything, checks every value against what the host offers, writes the
// files atomically and then the live values with read-back. Any failure
// puts back the values and files already changed.
func applyKernel(ctx context.Context, client *remote.Client, c kernelChange) (kernelResult, diag.Diagnostics) {
	var diags diag.Diagnostics
	const summary = "Unable to Apply Kernel Settings"
	unlock, lockDiags := lockHost(ctx, client, summary, kernelResourceType)
	if diags.Append(lockDiags...); diags.HasError() {
		return kernelResult{}, diags
	}
	defer unlock()

	before, err := readKernel(ctx, client, c.old.CPUGovernor != "" || c.next.CPUGovernor != "")
	if err != nil {
		diags.Append(hostError(summary, "Reading the current settings", client, err))
		return kernelResult{}, diags
	}
	if diags.Append(checkKernel(client, c, before)...); diags.HasError() {
		return kernelResult{}, diags
	}

	// What the host's ledger remembers of each file: after a state was
	// lost, what was there before comes from it, never from our own files
	// or values.
	recs := map[string]*remote.LedgerRecord{}
	for _, p := range kernel.Files {
		if recs[p], err = client.ReadLedger(ctx, p); err != nil {
			diags.Append(hostError(summary, "Reading what the provider recorded of "+p, client, err))
			return kernelResult{}, diags
		}
	}
	previous := maps.Clone(c.previous)
	if previous == nil {
		previous = map[string]string{}
	}
	if rec := recs[kernel.TmpfilesFile]; rec != nil {
		for k, v := range rec.PreviousValues {
			if _, ok := previous[k]; !ok {
				previous[k] = v
			}
		}
	}

	// Live writes: the next values, and previous values for settings
	// dropped; a value already in place is not written.
	cpus := before.cpufreqCPUs()
	var writes []remote.PathValue
	for _, ch := range sysctl.Plan(c.old.Targets(cpus), c.next.Targets(cpus), previous) {
		if before.live[ch.Key] != ch.Value {
			writes = append(writes, remote.PathValue{Path: ch.Key, Value: ch.Value})
		}
	}
	prev := map[string]string{}
	for p := range c.next.Targets(cpus) {
		if v, ok := previous[p]; ok {
			prev[p] = v
		} else if v, ok := before.live[p]; ok {
			prev[p] = v
		}
	}

	// Files: ours as rendered. Ours means carrying our header: a file
	// without it is someone else's, recorded in previous_files (and the
	// ledger) before it is replaced and otherwise never touched. A file of
	// ours no longer rendered goes back to what was there before the
	// resource, or away, but only while it is the one written here (the
	// ledger's hash): after an import or an edit since, it stays.
	rendered, wasRendered := c.next.Render(), c.old.Render()
	prevFiles := maps.Clone(c.previousFiles)
	if prevFiles == nil {
		prevFiles = map[string]string{}
	}
	var written, recorded []string
	for _, p := range kernel.Files {
		cur := before.files[p]
		ours := cur.Exists && isOurs(cur.Data)
		rec := recs[p]
		var target remote.FileState
		var nextRec *remote.LedgerRecord
		if content, ok := rendered[p]; ok {
			target = remote.FileState{Exists: true, Data: []byte(content)}
			// A file of ours edited to lose the header is drift, not a
			// site's file: only record one the resource never rendered.
			_, rendering := wasRendered[p]
			// A site's file found now (none of ours, nor the one written
			// here) is what was there; else the ledger's record says.
			_, known := prevFiles[p]
			switch {
			case known:
			case cur.Exists && !ours && !rendering && !rec.Wrote(cur.Data):
				prevFiles[p] = string(cur.Data)
			case rec != nil && rec.Previous.Exists:
				prevFiles[p] = string(rec.Previous.Data)
			}
			was := remote.FileMeta{Mode: kernelFileMode}
			if content, ok := prevFiles[p]; ok {
				was = remote.FileMeta{Exists: true, Data: []byte(content), Mode: kernelFileMode}
			}
			nextRec = remote.NewLedgerRecord(kernelResourceType, p, rec, was, target.Data)
			if p == kernel.TmpfilesFile {
				// The live values found before: the earlier record's stand.
				if nextRec.PreviousValues == nil {
					nextRec.PreviousValues = map[string]string{}
				}
				for k, v := range prev {
					if _, recorded := nextRec.PreviousValues[k]; !recorded {
						nextRec.PreviousValues[k] = v
					}
				}
			} else {
				nextRec.PreviousValues = nil
			}
		} else {
			if !ours {
				continue
			}
			if rec == nil || !rec.Wrote(cur.Data) {
				why := "it changed since this provider wrote it"
				if rec == nil {
					why = "this provider has no record of writing it (it was imported, copied from another host, or written by an older release)"
				}
				diags.AddWarning("File Left In Place", fmt.Sprintf(
					"%s on %s carries mcpai_host_kernel's header, but %s, so it was left as it is. Edit or remove it yourself.", p, client.Config(), why))
				delete(prevFiles, p)
				if rec != nil {
					recorded = append(recorded, p)
					if err := client.WriteLedger(ctx, p, nil); err != nil {
						msg := rollbackKernel(ctx, client, before, written, recorded, recs, nil)
						diags.Append(hostError(summary, "Removing the provider's record of "+p, client, fmt.Errorf("%w. %s", err, msg)))
						return kernelResult{}, diags
					}
				}
				continue
			}
			if content, ok := prevFiles[p]; ok {
				target = remote.FileState{Exists: true, Data: []byte(content)}
			} else if rec.Previous.Exists {
				target = remote.FileState{Exists: true, Data: rec.Previous.Data}
			}
			delete(prevFiles, p)
		}
		// A new record goes first, so a run cut short after the file is
		// written still leaves what was there before; a record that goes
		// goes after its file is put back, for the same reason.
		writeRecord := func() bool {
			if sameRecord(rec, nextRec) {
				return true
			}
			recorded = append(recorded, p)
			if err := client.WriteLedger(ctx, p, nextRec); err != nil {
				msg := rollbackKernel(ctx, client, before, written, recorded, recs, nil)
				diags.Append(hostError(summary, "Recording what was there before "+p, client, fmt.Errorf("%w. %s", err, msg)))
				return false
			}
			return true
		}
		if nextRec != nil && !writeRecord() {
			return kernelResult{}, diags
		}
		if cur.Exists != target.Exists || string(cur.Data) != string(target.Data) {
			written = append(written, p)
			if err := client.SetFile(ctx, p, target, kernelFileMode); err != nil {
				// It may have landed before the answer was lost: restore it too.
				msg := rollbackKernel(ctx, client, before, written, recorded, recs, nil)
				diags.Append(hostError(summary, "Writing "+p, client, fmt.Errorf("%w. %s", err, msg)))
				return kernelResult{}, diags
			}
		}
		if nextRec == nil && !writeRecord() {
			return kernelResult{}, diags
		}
	}

	if failure := writeLive(ctx, client, writes); failure != nil {
		attempted := writes
		if failure.index >= 0 {
			attempted = writes[:failure.changed]
		}
		msg := rollbackKernel(ctx, client, before, written, recorded, recs, attempted)
		detail := fmt.Sprintf("%s on %s. %s", failure.reason, client.Config(), msg)
		if failure.index < 0 {
			diags.AddError(summary, detail)
		} else {
			diags.AddAttributeError(knobAttribute(writes[failure.index].Path), summary, detail)
		}
		return kernelResult{}, diags
	}

	if slices.Contains(written, kernel.SystemdFile) {
		if err := reloadSystemd(ctx, client); err != nil {
			msg := rollbackKernel(ctx, client, before, written, recorded, recs, writes)
			diags.Append(hostError(summary, "Reloading systemd for "+kernel.SystemdFile, client, fmt.Errorf("%w. %s", err, msg)))
			return kernelResult{}, diags
		}
	}
	tflog.Debug(ctx, "applied kernel settings", map[string]any{"host": client.Config().String(), "live_writes": len(writes), "files": written})
	return kernelResult{previous: prev, previousFiles: prevFiles}, diags
}

// kernelResourceType names the resource in the host's ledger.
const kernelResourceType = "mcpai_host_kernel"

// sameRecord says whether writing b over a would change nothing.
func sameRecord(a, b *remote.LedgerRecord) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Written == b.Written && a.Previous.Exists == b.Previous.Exists && string(a.Previous.Data) == string(b.Previous.Data) &&
		maps.Equal(a.PreviousValues, b.PreviousValues)
}

// checkKernel validates c.next against the host before anything is written.
func checkKernel(client *remote.Client, c kernelChange, before kernelSnapshot) diag.Diagnostics {
	var diags diag.Diagnostics
	const summary = "Unable to Apply Kernel Settings"
	host := client.Config().String()
	offered := func(attrName, value, p string) {
		if value == "" {
			return
		}
		choices, ok := before.choices[p]
		switch {
		case !ok:
			diags.AddAttributeError(path.Root(attrName), summary, fmt.Sprintf(
				"%s does not exist on %s: this kernel has no transparent huge pages. Remove %s. Nothing was changed.", p, host, attrName))
		case !slices.Contains(choices, value):
			diags.AddAttributeError(path.Root(attrName), summary, fmt.Sprintf(
				"%q is not a mode this kernel offers on %s; %s lists: %s. Nothing was changed.", value, host, p, strings.Join(choices, ", ")))
		}
	}
	offered("transparent_hugepage_enabled", c.next.THPEnabled, kernel.THPEnabledPath)
	offered("transparent_hugepage_defrag", c.next.THPDefrag, kernel.THPDefragPath)
	if v := before.cmdlineTHP; v != "" && c.next.THPEnabled != "" {
		diags.AddAttributeWarning(path.Root("transparent_hugepage_enabled"), "THP Is Also Set on the Kernel Command Line",
			fmt.Sprintf("%s was booted with transparent_hugepage=%s. This resource still sets %q live and at boot (systemd-tmpfiles runs after the kernel command line takes effect), so its value wins; remove the boot parameter to keep one source of truth.", host, v, c.next.THPEnabled))
	}

	if gov := c.next.CPUGovernor; gov != "" {
		cpus := before.cpufreqCPUs()
		switch {
		case len(cpus) == 0 && c.optional:
			diags.AddAttributeWarning(path.Root("cpu_governor"), "CPU Governor Skipped",
				fmt.Sprintf("%s has no cpufreq (%s does not exist), so cpu_governor %q was not applied live; the boot-time line is still written.", host, kernel.GovernorPath(0), gov))
		case len(cpus) == 0:
			diags.AddAttributeError(path.Root("cpu_governor"), summary, fmt.Sprintf(
				"%s has no cpufreq: %s does not exist, as on most virtual machines. Set cpu_governor_optional = true to skip the governor on such hosts, or remove cpu_governor. Nothing was changed.", host, kernel.GovernorPath(0)))
		default:
			for _, cpu := range cpus {
				p := kernel.GovernorPath(cpu)
				if !slices.Contains(before.choices[p], gov) {
					diags.AddAttributeError(path.Root("cpu_governor"), summary, fmt.Sprintf(
						"CPU %d of %s does not offer the governor %q; %s lists: %s. Nothing was changed.", cpu, host, gov, kernel.AvailableGovernorsPath(cpu), strings.Join(before.choices[p], ", ")))
					break
				}
			}
		}
	}

	for _, l := range []struct {
		item  string
		limit *kernel.Limit
	}{{kernel.NoFile, c.next.NoFile}, {kernel.NProc, c.next.NProc}} {
		if l.limit == nil {
			continue
		}
		if err := l.limit.Check(l.item, before.nrOpen); err != nil {
			diags.AddAttributeError(path.Root(l.item+"_limit"), summary, fmt.Sprintf("%s on %s. Nothing was changed.", err, host))
		}
	}
	return diags
}

// knobAttribute names the attribute that set a sysfs path.
func knobAttribute(p string) path.Path {
	switch p {
	case kernel.THPEnabledPath:
		return path.Root("transparent_hugepage_enabled")
	case kernel.THPDefragPath:
		return path.Root("transparent_hugepage_defrag")
	}
	return path.Root("cpu_governor")
}

type liveFailure struct {
	index   int // the write that failed; -1 when the answer was lost
	changed int // how many writes may have changed a value: undo those
	reason  string
}

// writeLive writes the values, stopping at the first refusal, and checks
// that each reads back as written.
func writeLive(ctx context.Context, client *remote.Client, writes []remote.PathValue) *liveFailure {
	if len(writes) == 0 {
		return nil
	}
	results, err := client.WriteInPlace(ctx, writes, true)
	if err != nil {
		return &liveFailure{index: -1, reason: err.Error()}
	}
	for i, res := range results {
		w := writes[i]
		if !res.OK {
			// Refused (both of the transport's attempts): it changed nothing.
			return &liveFailure{index: i, changed: i, reason: fmt.Sprintf("Writing %q to %s failed: the kernel said %s", w.Value, w.Path, res.Error)}
		}
		if got, _, _ := liveWord(w.Path, res.ReadBack); got != w.Value {
			return &liveFailure{index: i, changed: i + 1, reason: fmt.Sprintf("Writing %q to %s was accepted but it reads back %q", w.Value, w.Path, strings.TrimSpace(res.ReadBack))}
		}
	}
	return nil
}

// rollbackKernel puts back the live values the attempted writes replaced,
// the files written and the ledger records rewritten, and says how that
// went.
func rollbackKernel(ctx context.Context, client *remote.Client, before kernelSnapshot, files, recorded []string, recs map[string]*remote.LedgerRecord, attempted []remote.PathValue) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	var problems []string
	undo := make([]remote.PathValue, 0, len(attempted))
	for _, w := range attempted {
		undo = append(undo, remote.PathValue{Path: w.Path, Value: before.live[w.Path]})
	}
	if len(undo) > 0 {
		results, err := client.WriteInPlace(ctx, undo, false)
		if err != nil {
			problems = append(problems, err.Error())
		}
		for i, res := range results {
			if !res.OK {
				problems = append(problems, fmt.Sprintf("%s: %s", undo[i].Path, res.Error))
			}
		}
	}
	unknown := map[string]bool{}
	for _, p := range files {
		if err := client.SetFile(ctx, p, before.files[p], kernelFileMode); err != nil {
			problems = append(problems, err.Error())
			unknown[p] = true
		}
	}
	// A record comes back only with its file: while the file is unknown,
	// the new record (which knows both contents) stays.
	for _, p := range recorded {
		if unknown[p] {
			continue
		}
		if err := client.WriteLedger(ctx, p, recs[p]); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		return "Rolling back also failed, so the host may be half-applied: " + strings.Join(problems, "; ") + "."
	}
	return "Everything already changed was put back; nothing was changed."
}

// reloadSystemdScript makes a running systemd read the new manager
// defaults; a host without systemd as init has nothing to reload.
const reloadSystemdScript = `if [ -d /run/systemd/system ]; then exec systemctl daemon-reload; fi`

func reloadSystemd(ctx context.Context, client *remote.Client) error {
	_, err := client.Output(ctx, []string{"sh", "-c", reloadSystemdScript}, nil)
	return err
}
