package provider

import (
	"context"
	"fmt"
	"maps"
	"net"
	"regexp"
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

// sysctlSnapshot is the file and the live values of some keys.
type sysctlSnapshot struct {
	file remote.FileState
	live map[string]string // keys that exist; raw kernel text
}

// readSysctl reads the file and the keys' /proc/sys files in one round trip.
func readSysctl(ctx context.Context, client *remote.Client, file string, keys []string) (sysctlSnapshot, error) {
	paths := []string{file}
	for _, k := range keys {
		paths = append(paths, sysctl.Path(k))
	}
	files, err := client.ReadFiles(ctx, paths...)
	if err != nil {
		return sysctlSnapshot{}, err
	}
	snap := sysctlSnapshot{file: remote.FileState{Exists: files[0].Exists, Data: files[0].Data}, live: map[string]string{}}
	for i, k := range keys {
		if f := files[i+1]; f.Exists {
			snap.live[k] = strings.TrimRight(string(f.Data), "\n")
		}
	}
	return snap, nil
}

type sysctlResult struct {
	previous   map[string]string
	fileBefore remote.FileState
}

// sysctlResourceType names the resource in the host's ledger.
const sysctlResourceType = "mcpai_host_sysctl"

// applySysctl moves a host from the old settings to next (nil: destroy)
// under the host lock: check every key of next exists and is writable,
// record in the host's ledger what was there before, write the file (on
// destroy: put back the file found before, but only if the file is still
// the one written here), write the live values and read each back. Any
// failure restores the values already written, the file and the ledger,
// then reports the key and what the kernel said.
//
// statePrevious is the file the state recorded as there before (nil when
// there is no state: a create), for a file of ours the ledger has no
// record of.
func applySysctl(ctx context.Context, client *remote.Client, file string, old, next, previous map[string]string, statePrevious *remote.FileState) (sysctlResult, diag.Diagnostics) {
	var diags diag.Diagnostics
	const summary = "Unable to Apply Sysctl Settings"
	destroy := next == nil
	unlock, lockDiags := lockHost(ctx, client, summary, sysctlResourceType+" "+file)
	if diags.Append(lockDiags...); diags.HasError() {
		return sysctlResult{}, diags
	}
	defer unlock()

	rec, err := client.ReadLedger(ctx, file)
	if err != nil {
		diags.Append(hostError(summary, "Reading what the provider recorded of "+file, client, err))
		return sysctlResult{}, diags
	}
	// What was there before this resource: the state's, else the ledger's
	// (a state lost, or a create that never saved one), else the host's now.
	previous = maps.Clone(previous)
	if previous == nil {
		previous = map[string]string{}
	}
	if rec != nil {
		for k, v := range rec.PreviousValues {
			if _, ok := previous[k]; !ok {
				previous[k] = v
			}
		}
	}
	changes := sysctl.Plan(old, next, previous)
	keys := make([]string, 0, len(changes))
	for _, c := range changes {
		keys = append(keys, c.Key)
	}
	before, err := readSysctl(ctx, client, file, keys)
	if err != nil {
		diags.Append(hostError(summary, "Reading the current values", client, err))
		return sysctlResult{}, diags
	}
	if destroy {
		// A key that vanished (its module unloaded, its interface removed)
		// has nothing left to restore: say so and restore the rest.
		var vanished []string
		kept := changes[:0]
		for _, c := range changes {
			if _, ok := before.live[c.Key]; ok {
				kept = append(kept, c)
			} else {
				vanished = append(vanished, c.Key)
			}
		}
		changes = kept
		if len(vanished) > 0 {
			diags.AddWarning("Kernel Parameters No Longer Exist", fmt.Sprintf(
				"%s no longer exist on %s (a module unloaded or an interface removed?), so their earlier values were not restored; the others were.",
				strings.Join(vanished, ", "), client.Config()))
		}
	}

	// Validate everything before writing anything.
	var unknown []string
	for _, k := range sysctl.SortedKeys(next) {
		if _, ok := before.live[k]; !ok {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		diags.AddAttributeError(path.Root("settings"), summary, fmt.Sprintf(
			"%s: no such kernel parameter on %s (%s does not exist). Check the spelling, and whether the module providing it is loaded. Nothing was changed.",
			strings.Join(unknown, ", "), client.Config(), sysctl.Path(unknown[0])))
		return sysctlResult{}, diags
	}
	// Writing a key's own current value back proves it is writable here
	// without changing it: inside a network namespace or a container some
	// keys exist but refuse every write.
	probes := make([]remote.PathValue, 0, len(next))
	for _, k := range sysctl.SortedKeys(next) {
		probes = append(probes, remote.PathValue{Path: sysctl.Path(k), Value: before.live[k]})
	}
	results, err := client.WriteInPlace(ctx, probes, false)
	if err != nil {
		diags.Append(hostError(summary, "Checking that the keys are writable", client, err))
		return sysctlResult{}, diags
	}
	var readOnly []string
	for i, k := range sysctl.SortedKeys(next) {
		if !results[i].OK {
			readOnly = append(readOnly, fmt.Sprintf("%s (the kernel said: %s)", k, results[i].Error))
		}
	}
	if len(readOnly) > 0 {
		diags.AddAttributeError(path.Root("settings"), summary, fmt.Sprintf(
			"These keys cannot be written on %s: %s. They are read-only here, e.g. in a network namespace or container, or the login user lacks the privilege (connect as root or set ssh.sudo = true). Remove them from settings or set them on the host that owns them. Nothing was changed.",
			client.Config(), strings.Join(readOnly, "; ")))
		return sysctlResult{}, diags
	}

	prev := map[string]string{}
	for k := range next {
		if v, ok := previous[k]; ok {
			prev[k] = v
		} else {
			prev[k] = sysctl.Normalize(before.live[k])
		}
	}
	fileBefore := before.file
	var target *remote.FileState // nil: leave the file as it is
	var nextRec *remote.LedgerRecord
	if destroy {
		target, diags = sysctlFileOnDestroy(client, file, rec, before.file, diags)
	} else {
		content := sysctl.Render(next)
		target = &remote.FileState{Exists: true, Data: content}
		was := sysctlFileBefore(client, file, rec, before.file, statePrevious, &diags)
		nextRec = remote.NewLedgerRecord(sysctlResourceType, file, rec, remote.FileMeta{Exists: was.Exists, Data: was.Data, Mode: sysctlFileMode}, content)
		if nextRec.PreviousValues == nil {
			nextRec.PreviousValues = map[string]string{}
		}
		for k, v := range prev {
			if _, known := nextRec.PreviousValues[k]; !known {
				nextRec.PreviousValues[k] = v
			}
		}
		fileBefore = was
	}
	// The ledger first: a run cut short after the file is written still
	// leaves a record of what was there before.
	if !destroy {
		if err := client.WriteLedger(ctx, file, nextRec); err != nil {
			diags.Append(hostError(summary, "Recording what was there before (nothing was changed)", client, err))
			return sysctlResult{}, diags
		}
	}
	if target != nil {
		if err := client.SetFile(ctx, file, *target, sysctlFileMode); err != nil {
			// The write may have landed before it failed (a dropped connection
			// after the rename): put the file back as it was either way.
			rollback := rollbackSysctl(ctx, client, file, before, rec, !destroy, nil)
			diags.Append(hostError(summary, "Writing "+file, client, fmt.Errorf("%w. %s", err, rollback)))
			return sysctlResult{}, diags
		}
	}

	writes := make([]remote.PathValue, len(changes))
	for i, c := range changes {
		writes[i] = remote.PathValue{Path: sysctl.Path(c.Key), Value: sysctl.Normalize(c.Value)}
	}
	results, err = client.WriteInPlace(ctx, writes, true)
	failed, reason, attempted := -1, "", changes
	switch {
	case err != nil:
		// The answer was lost, not necessarily the writes: undo them all
		// (writing a value back is harmless if it never changed).
		failed, reason = 0, err.Error()
	default:
		for i, res := range results {
			if !res.OK {
				failed, reason = i, "the kernel refused it: "+res.Error
				break
			}
			if !sysctl.Equal(res.ReadBack, changes[i].Value) {
				failed, reason = i, fmt.Sprintf("the kernel accepted it but reads back %q (it clamps or rejects this value)", sysctl.Normalize(res.ReadBack))
				break
			}
		}
	}
	if failed >= 0 {
		c := changes[failed]
		if err == nil {
			attempted = changes[:failed+1]
		}
		rollback := rollbackSysctl(ctx, client, file, before, rec, target != nil, attempted)
		diags.AddAttributeError(path.Root("settings").AtMapKey(c.Key), summary, fmt.Sprintf(
			"Setting %s = %q on %s failed: %s. %s Use a value the kernel accepts for this key.",
			c.Key, c.Value, client.Config(), reason, rollback))
		return sysctlResult{}, diags
	}
	if destroy {
		// The record goes with the resource, whether the file was ours to
		// restore or had become someone else's.
		if err := client.WriteLedger(ctx, file, nil); err != nil {
			diags.Append(hostError(summary, "Removing the provider's record of "+file+" (the values and the file were restored)", client, err))
			return sysctlResult{}, diags
		}
	}
	tflog.Debug(ctx, "applied sysctl settings", map[string]any{"host": client.Config().String(), "file": file, "keys": len(changes)})
	return sysctlResult{previous: prev, fileBefore: fileBefore}, diags
}

// sysctlFileBefore decides what was at file before this resource first
// wrote it: the ledger's record; but on a create (no state) a file that
// replaced ours since (no header of ours) is what there is to put back, and a file of ours the
// ledger has no record of (an earlier release's) is never "what was
// there": the state's record stands, else no file.
func sysctlFileBefore(client *remote.Client, file string, rec *remote.LedgerRecord, cur remote.FileState, statePrevious *remote.FileState, diags *diag.Diagnostics) remote.FileState {
	ours := cur.Exists && strings.HasPrefix(string(cur.Data), sysctl.Header)
	switch {
	case statePrevious == nil && rec != nil && cur.Exists && !ours && !rec.Wrote(cur.Data):
		diags.AddAttributeWarning(path.Root("file"), "File Replaced Since It Was Written", fmt.Sprintf(
			"%s on %s is no longer the file this provider wrote, nor one of its own: it is recorded as the file to put back on destroy, in place of the one found before the first apply.", file, client.Config()))
		return cur
	case rec != nil:
		return remote.FileState{Exists: rec.Previous.Exists, Data: rec.Previous.Data}
	case ours && statePrevious != nil:
		return *statePrevious
	case ours:
		return remote.FileState{}
	}
	return cur
}

// sysctlFileOnDestroy decides what destroy does with the file: put back what
// the ledger says was there, but only while the file is the one written
// here. After an import (no record) or an edit since, it stays, with a
// warning that says why.
func sysctlFileOnDestroy(client *remote.Client, file string, rec *remote.LedgerRecord, cur remote.FileState, diags diag.Diagnostics) (*remote.FileState, diag.Diagnostics) {
	if why := notOurs(rec, cur.Exists, cur.Data); why != "" {
		fileLeftWarning(&diags, path.Root("file"), client, file, why, "The live values recorded as previous were restored. Edit or remove the file yourself if its settings should go.")
		return nil, diags
	}
	if rec == nil || (!cur.Exists && !rec.Previous.Exists) {
		return nil, diags
	}
	return &remote.FileState{Exists: rec.Previous.Exists, Data: rec.Previous.Data}, diags
}

// rollbackSysctl writes back the values the attempted changes replaced,
// the file as it was (when it was written) and the ledger record as it was
// (when one was written), and says how that went.
func rollbackSysctl(ctx context.Context, client *remote.Client, file string, before sysctlSnapshot, rec *remote.LedgerRecord, fileWritten bool, attempted []sysctl.Change) string {
	// A cancelled run must still roll back, but not wait forever on a host
	// that stopped answering.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	undo := make([]remote.PathValue, 0, len(attempted))
	for _, c := range attempted {
		undo = append(undo, remote.PathValue{Path: sysctl.Path(c.Key), Value: before.live[c.Key]})
	}
	var problems []string
	var results []remote.WriteResult
	if len(undo) > 0 {
		var err error
		if results, err = client.WriteInPlace(ctx, undo, false); err != nil {
			problems = append(problems, err.Error())
		}
	}
	for i, res := range results {
		if !res.OK {
			problems = append(problems, fmt.Sprintf("%s: %s", attempted[i].Key, res.Error))
		}
	}
	if fileWritten {
		// The earlier record comes back only with the file: while the file
		// is unknown, the new record (which knows both contents) stays.
		if err := client.SetFile(ctx, file, before.file, sysctlFileMode); err != nil {
			problems = append(problems, err.Error())
		} else if err := client.WriteLedger(ctx, file, rec); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		return "Rolling back also failed, so the host may be half-applied: " + strings.Join(problems, "; ") + "."
	}
	if len(attempted) == 0 {
		return file + " was restored; nothing was changed."
	}
	return "The values already applied and " + file + " were restored; nothing was changed."
}
