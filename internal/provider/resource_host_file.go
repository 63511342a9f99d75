package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/resourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
)

var (
	_ resource.Resource                     = (*hostFileResource)(nil)
	_ resource.ResourceWithConfigure        = (*hostFileResource)(nil)
	_ resource.ResourceWithConfigValidators = (*hostFileResource)(nil)
	_ resource.ResourceWithImportState      = (*hostFileResource)(nil)
)

var (
	hostFilePathRE = regexp.MustCompile(`^/[^\x00]*[^/]$`)
	fileModeRE     = regexp.MustCompile(`^0[0-7]{3}$`)
	unixNameRE     = regexp.MustCompile(`^[a-z_][a-z0-9_.-]*\$?$`)
)

// hostFileForbidden are trees a file resource must not write into.
var hostFileForbidden = []string{"/proc/", "/sys/", "/dev/"}

type hostFileResource struct {
	data *providerData
}

func newHostFileResource() resource.Resource { return &hostFileResource{} }

type hostFileModel struct {
	ID                 types.String   `tfsdk:"id"`
	SSH                types.Object   `tfsdk:"ssh"`
	Path               types.String   `tfsdk:"path"`
	Content            types.String   `tfsdk:"content"`
	SensitiveContent   types.String   `tfsdk:"sensitive_content"`
	Mode               types.String   `tfsdk:"mode"`
	Owner              types.String   `tfsdk:"owner"`
	Group              types.String   `tfsdk:"group"`
	ValidateCommand    types.List     `tfsdk:"validate_command"`
	CreateDirectories  types.Bool     `tfsdk:"create_directories"`
	CreatedDirectories types.List     `tfsdk:"created_directories"`
	SHA256             types.String   `tfsdk:"sha256"`
	Timeouts           timeouts.Value `tfsdk:"timeouts"`
}

func (m *hostFileModel) timeoutsBlock() timeouts.Value { return m.Timeouts }
func (m *hostFileModel) sshBlock() types.Object        { return m.SSH }

func (r *hostFileResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_host_file"
}

func (r *hostFileResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A file on a host (a Traefik dynamic configuration, Prometheus alert rules, ...), written atomically with its mode and owner. " +
			"An optional `validate_command` checks the new content on the host before it replaces the old. Drift in content, mode or owner shows in the plan. " +
			"Destroy puts back the file found before the first apply (content, mode and owner), or removes the file when there was none. " +
			"With `create_directories`, missing folders above the file are created and removed again on destroy when empty. " +
			"A path whose folders another user could redirect (a link that is not root's, a folder another user owns or may write) is refused; " +
			"a folder of the file's own `owner` is written in as that user. " + ledgerNote,
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "host:path.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"ssh": resourceSSHAttribute(),
			"path": schema.StringAttribute{
				MarkdownDescription: "Absolute path of the file. Its folder must exist, unless `create_directories` is set. Changing it replaces the resource.",
				Required:            true,
				Validators: []validator.String{
					stringvalidator.RegexMatches(hostFilePathRE, "must be an absolute path to a file"),
					noDotDotValidator(),
					stringCheck{"Invalid File Path", "must not be under /proc, /sys or /dev", func(s string) error {
						if slices.ContainsFunc(hostFileForbidden, func(p string) bool { return strings.HasPrefix(s, p) }) {
							return errors.New("kernel and device files are managed by mcpai_host_sysctl and mcpai_host_kernel, not as files")
						}
						return nil
					}},
				},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"content": schema.StringAttribute{
				MarkdownDescription: "The file's content. Exactly one of `content` and `sensitive_content`.",
				Optional:            true,
			},
			"sensitive_content": schema.StringAttribute{
				MarkdownDescription: "The file's content when it holds secrets: hidden in plans and logs (still in the state, as every managed value).",
				Optional:            true,
				Sensitive:           true,
			},
			"mode": schema.StringAttribute{
				MarkdownDescription: "Permission bits in octal, e.g. `0644` (default) or `0600`.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString("0644"),
				Validators:          []validator.String{stringvalidator.RegexMatches(fileModeRE, "must be four octal digits such as 0644")},
			},
			"owner": schema.StringAttribute{
				MarkdownDescription: "Owning user. Default `root`.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString("root"),
				Validators:          []validator.String{stringvalidator.RegexMatches(unixNameRE, "must be a user name")},
			},
			"group": schema.StringAttribute{
				MarkdownDescription: "Owning group. Default `root`.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString("root"),
				Validators:          []validator.String{stringvalidator.RegexMatches(unixNameRE, "must be a group name")},
			},
			"validate_command": schema.ListAttribute{
				MarkdownDescription: "A command run on the host, as arguments without a shell, before the new content replaces the old; `{}` stands for a temporary file holding the new content, in the target's folder. " +
					"A non-zero exit refuses the change and leaves the file as it was; the error carries the command's output, unless `sensitive_content` is set (a validator may echo any part of it). " +
					"E.g. `[\"promtool\", \"check\", \"rules\", \"{}\"]`.",
				Optional:    true,
				ElementType: types.StringType,
				Validators: []validator.List{
					listvalidator.SizeAtLeast(1),
					listvalidator.ValueStringsAre(stringvalidator.LengthAtLeast(1)),
					listvalidator.ValueStringsAre(stringvalidator.RegexMatches(regexp.MustCompile(`^[^\x00]*$`), "must not hold NUL")),
					programValidator{},
				},
			},
			"create_directories": schema.BoolAttribute{
				MarkdownDescription: "Create the missing folders above `path` (mode `0755`, owned by the SSH user: root when logging in as root or with `ssh.sudo`) just before the file is written, " +
					"as Terraform's `local_file` does. If the write, its owner or `validate_command` fails, the folders just created are removed again. " +
					"Destroy removes them, innermost first, when they are empty; one that holds files written by others stays, with a warning. " +
					"Default `false`: a missing folder is an error.",
				Optional: true,
				Computed: true,
				Default:  booldefault.StaticBool(false),
			},
			"created_directories": schema.ListAttribute{
				MarkdownDescription: "The folders this resource created (outermost first), which destroy removes when empty. Empty when every folder existed, and after an import.",
				Computed:            true,
				ElementType:         types.StringType,
				PlanModifiers:       []planmodifier.List{createdDirectoriesPlan{}},
			},
			"sha256": schema.StringAttribute{
				MarkdownDescription: "SHA-256 of the content on the host. Sensitive: for a short or guessable `sensitive_content` the hash would give it away.",
				Computed:            true,
				Sensitive:           true,
			},
			"timeouts": timeouts.Attributes(ctx, timeouts.Opts{Create: true, Read: true, Update: true, Delete: true}),
		},
	}
}

// createdDirectoriesPlan keeps created_directories from the state, as
// UseStateForUnknown does, except on an update with create_directories set:
// that update may create a folder removed since, so the value is known
// only after apply.
type createdDirectoriesPlan struct{}

func (createdDirectoriesPlan) Description(context.Context) string {
	return "Keeps the state's value unless the update may create folders."
}

func (p createdDirectoriesPlan) MarkdownDescription(ctx context.Context) string {
	return p.Description(ctx)
}

func (createdDirectoriesPlan) PlanModifyList(ctx context.Context, req planmodifier.ListRequest, resp *planmodifier.ListResponse) {
	if req.StateValue.IsNull() || !req.PlanValue.IsUnknown() || req.ConfigValue.IsUnknown() {
		return
	}
	var create types.Bool
	if resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("create_directories"), &create)...); resp.Diagnostics.HasError() {
		return
	}
	if !create.IsUnknown() && !create.ValueBool() {
		resp.PlanValue = req.StateValue
	}
}

func (r *hostFileResource) ConfigValidators(context.Context) []resource.ConfigValidator {
	return []resource.ConfigValidator{resourcevalidator.ExactlyOneOf(path.MatchRoot("content"), path.MatchRoot("sensitive_content"))}
}

func (r *hostFileResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configureData(req.ProviderData, &resp.Diagnostics)
}

// content is the model's content, from whichever attribute holds it.
func (m hostFileModel) content() string {
	if !m.SensitiveContent.IsNull() {
		return m.SensitiveContent.ValueString()
	}
	return m.Content.ValueString()
}

func (m hostFileModel) ownership() (remote.Ownership, error) {
	mode, err := strconv.ParseUint(m.Mode.ValueString(), 8, 32)
	if err != nil {
		return remote.Ownership{}, err
	}
	return remote.Ownership{Mode: os.FileMode(mode), Owner: m.Owner.ValueString(), Group: m.Group.ValueString()}, nil
}

// setFrom records what the host holds.
func (m *hostFileModel) setFrom(f remote.FileMeta) {
	if !f.Exists {
		// Gone: the attribute in use reads empty, so the plan shows the
		// content coming back (a sensitive one masked).
		if m.SensitiveContent.IsNull() {
			m.Content = types.StringValue("")
		} else {
			m.SensitiveContent = types.StringValue("")
		}
		m.SHA256 = types.StringValue("")
		return
	}
	if m.SensitiveContent.IsNull() {
		m.Content = types.StringValue(string(f.Data))
	} else {
		m.SensitiveContent = types.StringValue(string(f.Data))
	}
	sum := sha256.Sum256(f.Data)
	m.SHA256 = types.StringValue(hex.EncodeToString(sum[:]))
	m.Mode = types.StringValue(fmt.Sprintf("%04o", f.Mode&07777))
	m.Owner = types.StringValue(f.Owner)
	m.Group = types.StringValue(f.Group)
}

func (r *hostFileResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m hostFileModel
	ctx, cancel, client, ok := r.data.beginOnHost(ctx, req.Plan, &m, timeouts.Value.Create, defaultApplyTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}
	unlock, diags := lockHost(ctx, client, "File Not Written", "mcpai_host_file "+m.Path.ValueString())
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	defer unlock()
	if !r.write(ctx, client, &m, nil, true, &resp.Diagnostics) {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

func (r *hostFileResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m hostFileModel
	ctx, cancel, client, ok := r.data.beginOnHost(ctx, req.State, &m, timeouts.Value.Read, defaultReadTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}
	f, err := client.ReadFileMeta(ctx, m.Path.ValueString())
	if err != nil {
		resp.Diagnostics.Append(hostError("File Not Read", "Reading "+m.Path.ValueString(), client, err))
		return
	}
	marker, d := req.Private.GetKey(ctx, importMarker)
	resp.Diagnostics.Append(d...)
	if len(marker) > 0 {
		if !f.Exists {
			resp.Diagnostics.AddError("Nothing To Import", fmt.Sprintf("%s does not exist on %s.", m.Path.ValueString(), client.Config()))
			return
		}
		resp.Diagnostics.Append(resp.Private.SetKey(ctx, importMarker, nil)...)
		// The file may hold secrets: imported content is kept hidden.
		m.SensitiveContent = types.StringValue("")
	}
	m.setFrom(f)
	// An import, or a state from before these attributes: no folder was
	// created by this resource.
	if m.CreateDirectories.IsNull() {
		m.CreateDirectories = types.BoolValue(false)
	}
	if m.CreatedDirectories.IsNull() {
		m.CreatedDirectories = types.ListValueMust(types.StringType, []attr.Value{})
	}
	m.ID = types.StringValue(hostID(client.Config()) + ":" + m.Path.ValueString())
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

func (r *hostFileResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var m hostFileModel
	ctx, cancel, client, ok := r.data.beginOnHost(ctx, req.Plan, &m, timeouts.Value.Update, defaultApplyTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}
	unlock, diags := lockHost(ctx, client, "File Not Written", "mcpai_host_file "+m.Path.ValueString())
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	defer unlock()
	var prior []string
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("created_directories"), &prior)...)
	if r.write(ctx, client, &m, prior, false, &resp.Diagnostics) {
		resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
	}
}

func (r *hostFileResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m hostFileModel
	ctx, cancel, client, ok := r.data.beginOnHost(ctx, req.State, &m, timeouts.Value.Delete, defaultApplyTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}
	p := m.Path.ValueString()
	unlock, diags := lockHost(ctx, client, "File Not Restored", hostFileResourceType+" "+p)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	defer unlock()
	// Only a file that is still the one written here is replaced or removed.
	rec, err := client.ReadLedger(ctx, p)
	var cur remote.FileMeta
	if err == nil {
		cur, err = client.ReadFileMeta(ctx, p)
	}
	if unsafePathDiag(client, p, err, &resp.Diagnostics) {
		return
	}
	if err != nil {
		resp.Diagnostics.Append(hostError("File Not Restored", "Reading "+p+" and what the provider recorded of it (nothing was changed)", client, err))
		return
	}
	if why := notOurs(rec, cur.Exists, cur.Data); why != "" {
		fileLeftWarning(&resp.Diagnostics, path.Root("path"), client, p, why, "Edit or remove it yourself.")
	} else if rec != nil {
		if err := client.RestoreFile(ctx, p, rec.Previous); err != nil {
			resp.Diagnostics.Append(hostError("File Not Restored", "Putting back the file found before the first apply at "+p, client, err))
			return
		}
	}
	// The record goes with the resource, whether the file was ours to
	// restore or had become someone else's.
	if rec != nil {
		if err := client.WriteLedger(ctx, p, nil); err != nil {
			resp.Diagnostics.Append(hostError("File Not Restored", "Removing the provider's record of "+p, client, err))
			return
		}
	}
	var created []string
	if resp.Diagnostics.Append(m.CreatedDirectories.ElementsAs(ctx, &created, false)...); resp.Diagnostics.HasError() {
		return
	}
	removeCreatedDirs(ctx, client, created, &resp.Diagnostics)
}

// ImportState takes host:path (host:port:path off port 22). An imported
// file stays on destroy: there is no earlier file to put back.
func (r *hostFileResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	i := strings.Index(req.ID, ":/")
	if i <= 0 || !hostFilePathRE.MatchString(req.ID[i+1:]) || strings.Contains(req.ID[i+1:], "..") {
		resp.Diagnostics.AddError("Invalid Import ID", fmt.Sprintf("%q is not host:path: use e.g. 10.0.0.5:/etc/traefik/dynamic/mcpai.yml (or host:port:path).", req.ID))
		return
	}
	sshObj, diags := sshObjectForHost(ctx, req.ID[:i])
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("ssh"), sshObj)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("path"), req.ID[i+1:])...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, importMarker, []byte(`{"importing":true}`))...)
}
