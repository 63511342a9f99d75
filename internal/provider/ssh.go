package provider

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	dschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	pschema "github.com/hashicorp/terraform-plugin-framework/provider/schema"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
)

// The ssh object appears in three schema packages (provider, resource, data
// source) whose attribute types differ; one neutral description of it builds
// all three, so they cannot drift apart.

type attrKind int

const (
	kindString attrKind = iota
	kindInt
	kindBool
	kindObject
)

type sshAttr struct {
	name       string
	kind       attrKind
	sensitive  bool
	required   bool
	desc       string
	strings    []validator.String
	ints       []validator.Int64
	attributes []sshAttr // kindObject
}

// endpointAttrs are the attributes shared by the target host and a bastion.
func endpointAttrs() []sshAttr {
	return []sshAttr{
		{name: "port", kind: kindInt, desc: "SSH port. Defaults to `22`.", ints: []validator.Int64{int64validator.Between(1, 65535)}},
		{name: "user", kind: kindString, desc: "Login user. Defaults to `root`.", strings: []validator.String{stringvalidator.LengthAtLeast(1)}},
		{name: "private_key", kind: kindString, sensitive: true, desc: "Private key content (PEM or OpenSSH format), e.g. `file(\"~/.ssh/id_ed25519\")`."},
		{name: "private_key_passphrase", kind: kindString, sensitive: true, desc: "Passphrase of an encrypted `private_key`."},
		{name: "password", kind: kindString, sensitive: true, desc: "Password for password authentication."},
		{name: "agent", kind: kindBool, desc: "Authenticate with the keys of the SSH agent at `SSH_AUTH_SOCK`."},
		{name: "known_hosts", kind: kindString, desc: "Content of a known_hosts file used to verify the host key, e.g. `file(\"~/.ssh/known_hosts\")`."},
		{name: "host_key", kind: kindString, desc: "The host's public key to pin, e.g. `ssh-ed25519 AAAA...` (a line of `ssh-keyscan` output or of `/etc/ssh/ssh_host_ed25519_key.pub`). Takes precedence over `known_hosts`.", strings: []validator.String{hostKeyValidator{}}},
		{name: "insecure_ignore_host_key", kind: kindBool, desc: "Skip host key verification. Anyone between you and the host can then read the credentials: use only on throwaway networks."},
	}
}

func hostAttr() sshAttr {
	return sshAttr{name: "host", kind: kindString, required: true, desc: "Host name or IP address.", strings: []validator.String{stringvalidator.LengthAtLeast(1)}}
}

// optionAttrs are everything but the target host: what the provider block
// may set as defaults.
func optionAttrs() []sshAttr {
	bastion := append([]sshAttr{hostAttr()}, endpointAttrs()...)
	return append(endpointAttrs(),
		sshAttr{name: "bastion", kind: kindObject, attributes: bastion, desc: "A jump host to connect through. Unset `user`, `private_key`, `private_key_passphrase`, `agent` and `known_hosts` fall back to the target's; `password`, `host_key`, `port` and `insecure_ignore_host_key` do not: the target's password is never sent to the bastion (set `bastion.password` to use one)."},
		sshAttr{name: "sudo", kind: kindBool, desc: "Run privileged steps with `sudo -n`. The user needs passwordless sudo; a sudo that asks for a password is reported as an error. A unix socket the user may not open itself, such as a root-owned `/var/run/docker.sock` for a user outside the docker group, is reached through a relay run under sudo: `docker system dial-stdio`, else `socat`, netcat-openbsd's `nc` or `python3`, whichever the host has."},
		sshAttr{name: "timeout", kind: kindString, desc: "How long to wait for the connection, as a Go duration (`30s`, `2m`). Defaults to `30s`.", strings: []validator.String{durationValidator{}}},
	)
}

const sshDescription = "How to reach the host over SSH. Unset attributes fall back to the provider's `ssh` block, then to `MCPAI_SSH_*` environment variables. Host keys are always verified unless `insecure_ignore_host_key` is set."

func resourceAttrs(spec []sshAttr) map[string]rschema.Attribute {
	out := map[string]rschema.Attribute{}
	for _, a := range spec {
		switch a.kind {
		case kindString:
			out[a.name] = rschema.StringAttribute{MarkdownDescription: a.desc, Required: a.required, Optional: !a.required, Sensitive: a.sensitive, Validators: a.strings}
		case kindInt:
			out[a.name] = rschema.Int64Attribute{MarkdownDescription: a.desc, Optional: true, Validators: a.ints}
		case kindBool:
			out[a.name] = rschema.BoolAttribute{MarkdownDescription: a.desc, Optional: true}
		case kindObject:
			out[a.name] = rschema.SingleNestedAttribute{MarkdownDescription: a.desc, Optional: true, Attributes: resourceAttrs(a.attributes)}
		}
	}
	return out
}

func dataSourceAttrs(spec []sshAttr) map[string]dschema.Attribute {
	out := map[string]dschema.Attribute{}
	for _, a := range spec {
		switch a.kind {
		case kindString:
			out[a.name] = dschema.StringAttribute{MarkdownDescription: a.desc, Required: a.required, Optional: !a.required, Sensitive: a.sensitive, Validators: a.strings}
		case kindInt:
			out[a.name] = dschema.Int64Attribute{MarkdownDescription: a.desc, Optional: true, Validators: a.ints}
		case kindBool:
			out[a.name] = dschema.BoolAttribute{MarkdownDescription: a.desc, Optional: true}
		case kindObject:
			out[a.name] = dschema.SingleNestedAttribute{MarkdownDescription: a.desc, Optional: true, Attributes: dataSourceAttrs(a.attributes)}
		}
	}
	return out
}

func providerAttrs(spec []sshAttr) map[string]pschema.Attribute {
	out := map[string]pschema.Attribute{}
	for _, a := range spec {
		switch a.kind {
		case kindString:
			out[a.name] = pschema.StringAttribute{MarkdownDescription: a.desc, Required: a.required, Optional: !a.required, Sensitive: a.sensitive, Validators: a.strings}
		case kindInt:
			out[a.name] = pschema.Int64Attribute{MarkdownDescription: a.desc, Optional: true, Validators: a.ints}
		case kindBool:
			out[a.name] = pschema.BoolAttribute{MarkdownDescription: a.desc, Optional: true}
		case kindObject:
			out[a.name] = pschema.SingleNestedAttribute{MarkdownDescription: a.desc, Optional: true, Attributes: providerAttrs(a.attributes)}
		}
	}
	return out
}

func resourceSSHAttribute() rschema.SingleNestedAttribute {
	return rschema.SingleNestedAttribute{
		MarkdownDescription: sshDescription + " Changing `host` or `port` replaces the resource: it is another machine.",
		Required:            true,
		Attributes:          resourceAttrs(append([]sshAttr{hostAttr()}, optionAttrs()...)),
		PlanModifiers: []planmodifier.Object{objectplanmodifier.RequiresReplaceIf(targetChanged,
			"Changing host or port replaces the resource.", "Changing `host` or `port` replaces the resource.")},
	}
}

// targetChanged: new credentials reach the same machine, a new host or port
// another one, whose old settings must be undone and new ones recorded.
func targetChanged(_ context.Context, req planmodifier.ObjectRequest, resp *objectplanmodifier.RequiresReplaceIfFuncResponse) {
	if req.StateValue.IsNull() || req.PlanValue.IsNull() {
		return
	}
	if req.PlanValue.IsUnknown() {
		resp.RequiresReplace = true
		return
	}
	before, after := sshModelFrom(req.StateValue), sshModelFrom(req.PlanValue)
	port := func(v types.Int64) int64 {
		if v.IsNull() {
			return 22
		}
		return v.ValueInt64()
	}
	resp.RequiresReplace = after.Host.IsUnknown() || after.Port.IsUnknown() ||
		before.Host.ValueString() != after.Host.ValueString() || port(before.Port) != port(after.Port)
}

func dataSourceSSHAttribute() dschema.SingleNestedAttribute {
	return dschema.SingleNestedAttribute{MarkdownDescription: sshDescription, Required: true, Attributes: dataSourceAttrs(append([]sshAttr{hostAttr()}, optionAttrs()...))}
}

func providerSSHAttribute() pschema.SingleNestedAttribute {
	return pschema.SingleNestedAttribute{MarkdownDescription: "Defaults for the `ssh` object of every resource and data source: the same attributes except `host`. `MCPAI_SSH_<ATTRIBUTE>` environment variables (e.g. `MCPAI_SSH_PRIVATE_KEY`) are the last fallback.", Optional: true, Attributes: providerAttrs(optionAttrs())}
}

type endpointModel struct {
	Port                  types.Int64  `tfsdk:"port"`
	User                  types.String `tfsdk:"user"`
	PrivateKey            types.String `tfsdk:"private_key"`
	PrivateKeyPassphrase  types.String `tfsdk:"private_key_passphrase"`
	Password              types.String `tfsdk:"password"`
	Agent                 types.Bool   `tfsdk:"agent"`
	KnownHosts            types.String `tfsdk:"known_hosts"`
	HostKey               types.String `tfsdk:"host_key"`
	InsecureIgnoreHostKey types.Bool   `tfsdk:"insecure_ignore_host_key"`
}

type bastionModel struct {
	Host types.String `tfsdk:"host"`
	endpointModel
}

type sshOptionsModel struct {
	endpointModel
	Bastion types.Object `tfsdk:"bastion"`
	Sudo    types.Bool   `tfsdk:"sudo"`
	Timeout types.String `tfsdk:"timeout"`
}

type sshModel struct {
	Host types.String `tfsdk:"host"`
	sshOptionsModel
}

var asObject = basetypes.ObjectAsOptions{}

// applyEnv fills every null option from MCPAI_SSH_<NAME>.
func (o *sshOptionsModel) applyEnv(getenv func(string) string) diag.Diagnostics {
	var diags diag.Diagnostics
	str := func(v *types.String, name string) {
		if v.IsNull() {
			if s := getenv("MCPAI_SSH_" + name); s != "" {
				*v = types.StringValue(s)
			}
		}
	}
	boolean := func(v *types.Bool, name string) {
		if s := getenv("MCPAI_SSH_" + name); v.IsNull() && s != "" {
			b, err := strconv.ParseBool(s)
			if err != nil {
				diags.AddError("Invalid Environment Variable", fmt.Sprintf("MCPAI_SSH_%s=%q is not a boolean: use true or false.", name, s))
				return
			}
			*v = types.BoolValue(b)
		}
	}
	str(&o.User, "USER")
	str(&o.PrivateKey, "PRIVATE_KEY")
	str(&o.PrivateKeyPassphrase, "PRIVATE_KEY_PASSPHRASE")
	str(&o.Password, "PASSWORD")
	str(&o.KnownHosts, "KNOWN_HOSTS")
	str(&o.HostKey, "HOST_KEY")
	str(&o.Timeout, "TIMEOUT")
	boolean(&o.Agent, "AGENT")
	boolean(&o.InsecureIgnoreHostKey, "INSECURE_IGNORE_HOST_KEY")
	boolean(&o.Sudo, "SUDO")
	if s := getenv("MCPAI_SSH_PORT"); o.Port.IsNull() && s != "" {
		p, err := strconv.ParseInt(s, 10, 64)
		if err != nil || p < 1 || p > 65535 {
			diags.AddError("Invalid Environment Variable", fmt.Sprintf("MCPAI_SSH_PORT=%q is not a port number (1-65535).", s))
		} else {
			o.Port = types.Int64Value(p)
		}
	}
	return diags
}

func firstString(vs ...types.String) string {
	for _, v := range vs {
		if !v.IsNull() && !v.IsUnknown() {
			return v.ValueString()
		}
	}
	return ""
}

func firstBool(vs ...types.Bool) bool {
	for _, v := range vs {
		if !v.IsNull() && !v.IsUnknown() {
			return v.ValueBool()
		}
	}
	return false
}

func firstInt(vs ...types.Int64) int {
	for _, v := range vs {
		if !v.IsNull() && !v.IsUnknown() {
			return int(v.ValueInt64())
		}
	}
	return 0
}

// endpoint merges an endpoint's own values over fallbacks, in order.
func endpoint(host string, own endpointModel, fallbacks ...endpointModel) remote.Endpoint {
	pick := func(get func(endpointModel) types.String) string {
		vs := []types.String{get(own)}
		for _, f := range fallbacks {
			vs = append(vs, get(f))
		}
		return firstString(vs...)
	}
	pickBool := func(get func(endpointModel) types.Bool) bool {
		vs := []types.Bool{get(own)}
		for _, f := range fallbacks {
			vs = append(vs, get(f))
		}
		return firstBool(vs...)
	}
	ports := []types.Int64{own.Port}
	for _, f := range fallbacks {
		ports = append(ports, f.Port)
	}
	return remote.Endpoint{
		Host:                  host,
		Port:                  firstInt(ports...),
		User:                  pick(func(e endpointModel) types.String { return e.User }),
		PrivateKey:            pick(func(e endpointModel) types.String { return e.PrivateKey }),
		PrivateKeyPassphrase:  pick(func(e endpointModel) types.String { return e.PrivateKeyPassphrase }),
		Password:              pick(func(e endpointModel) types.String { return e.Password }),
		Agent:                 pickBool(func(e endpointModel) types.Bool { return e.Agent }),
		KnownHosts:            pick(func(e endpointModel) types.String { return e.KnownHosts }),
		HostKey:               pick(func(e endpointModel) types.String { return e.HostKey }),
		InsecureIgnoreHostKey: pickBool(func(e endpointModel) types.Bool { return e.InsecureIgnoreHostKey }),
	}
}

// remoteConfig resolves a resource's ssh object against the provider's
// defaults.
func remoteConfig(obj types.Object, defaults sshOptionsModel) (remote.Config, diag.Diagnostics) {
	var diags diag.Diagnostics
	if obj.IsNull() || obj.IsUnknown() {
		diags.AddAttributeError(path.Root("ssh"), "Unknown SSH Connection", "The ssh object is not known yet, so the host cannot be reached.")
		return remote.Config{}, diags
	}
	m := sshModelFrom(obj)
	if m.Host.IsUnknown() {
		diags.AddAttributeError(path.Root("ssh").AtName("host"), "Unknown SSH Host", "ssh.host is not known yet, so the host cannot be reached.")
		return remote.Config{}, diags
	}
	cfg := remote.Config{
		Endpoint: endpoint(m.Host.ValueString(), m.endpointModel, defaults.endpointModel),
		Sudo:     firstBool(m.Sudo, defaults.Sudo),
	}
	if t := firstString(m.Timeout, defaults.Timeout); t != "" {
		d, err := time.ParseDuration(t)
		if err != nil {
			diags.AddAttributeError(path.Root("ssh").AtName("timeout"), "Invalid Timeout", fmt.Sprintf("%q is not a duration: use a Go duration such as 30s or 2m.", t))
			return cfg, diags
		}
		cfg.Timeout = d
	}
	bastionObj := m.Bastion
	if bastionObj.IsNull() {
		bastionObj = defaults.Bastion
	}
	if !bastionObj.IsNull() && !bastionObj.IsUnknown() {
		b := bastionModel{Host: stringAttr(bastionObj.Attributes(), "host"), endpointModel: endpointModelFrom(bastionObj.Attributes())}
		// A bastion's pinned key, port and host key opt-out are its own, and
		// so is its password: a password, unlike a key, is handed to the
		// server that asks, so the target's would be given to the bastion.
		fallback := m.endpointModel
		fallback.HostKey, fallback.Port, fallback.InsecureIgnoreHostKey, fallback.Password = types.StringNull(), types.Int64Null(), types.BoolNull(), types.StringNull()
		def := defaults.endpointModel
		def.HostKey, def.Port, def.InsecureIgnoreHostKey, def.Password = types.StringNull(), types.Int64Null(), types.BoolNull(), types.StringNull()
		be := endpoint(b.Host.ValueString(), b.endpointModel, fallback, def)
		if be.PrivateKey == "" && be.Password == "" && !be.Agent {
			diags.AddAttributeError(path.Root("ssh").AtName("bastion"), "No Bastion Credentials",
				fmt.Sprintf("The bastion %s has no private_key, password or agent of its own, and it never uses the target's password. "+
					"Give the bastion its own credentials (bastion.password may be the same variable as the target's, if that is intended).", b.Host.ValueString()))
			return cfg, diags
		}
		cfg.Bastion = &be
	}
	return cfg, diags
}

// sshModelFrom reads an ssh object without reflection: it runs for every
// resource on every refresh, and reflection was most of its cost.
func sshModelFrom(obj types.Object) sshModel {
	a := obj.Attributes()
	m := sshModel{Host: stringAttr(a, "host")}
	m.endpointModel = endpointModelFrom(a)
	m.Bastion = types.ObjectNull(bastionAttrTypes())
	if b, ok := a["bastion"].(types.Object); ok {
		m.Bastion = b
	}
	m.Sudo = boolAttr(a, "sudo")
	m.Timeout = stringAttr(a, "timeout")
	return m
}

func endpointModelFrom(a map[string]attr.Value) endpointModel {
	port := types.Int64Null()
	if p, ok := a["port"].(types.Int64); ok {
		port = p
	}
	return endpointModel{
		Port:                  port,
		User:                  stringAttr(a, "user"),
		PrivateKey:            stringAttr(a, "private_key"),
		PrivateKeyPassphrase:  stringAttr(a, "private_key_passphrase"),
		Password:              stringAttr(a, "password"),
		Agent:                 boolAttr(a, "agent"),
		KnownHosts:            stringAttr(a, "known_hosts"),
		HostKey:               stringAttr(a, "host_key"),
		InsecureIgnoreHostKey: boolAttr(a, "insecure_ignore_host_key"),
	}
}

func stringAttr(a map[string]attr.Value, name string) types.String {
	if v, ok := a[name].(types.String); ok {
		return v
	}
	return types.StringNull()
}

func boolAttr(a map[string]attr.Value, name string) types.Bool {
	if v, ok := a[name].(types.Bool); ok {
		return v
	}
	return types.BoolNull()
}

// sshObjectForHost is the ssh object an import starts from: the host (and
// port) of the import ID, every other value left to the provider's defaults.
func sshObjectForHost(ctx context.Context, hostPort string) (types.Object, diag.Diagnostics) {
	host, port := hostPort, types.Int64Null()
	if h, p, ok := splitHostPort(hostPort); ok {
		host, port = h, types.Int64Value(int64(p))
	}
	m := sshModel{Host: types.StringValue(host)}
	m.Port = port
	m.User = types.StringNull()
	m.PrivateKey = types.StringNull()
	m.PrivateKeyPassphrase = types.StringNull()
	m.Password = types.StringNull()
	m.Agent = types.BoolNull()
	m.KnownHosts = types.StringNull()
	m.HostKey = types.StringNull()
	m.InsecureIgnoreHostKey = types.BoolNull()
	m.Bastion = types.ObjectNull(bastionAttrTypes())
	m.Sudo = types.BoolNull()
	m.Timeout = types.StringNull()
	return types.ObjectValueFrom(ctx, sshAttrTypes(), m)
}

// splitHostPort accepts "host:port" and "[v6]:port"; a bare IPv6 literal has
// no port.
func splitHostPort(s string) (string, int, bool) {
	i := strings.LastIndex(s, ":")
	if i < 0 || (strings.Count(s, ":") > 1 && !strings.HasPrefix(s, "[")) {
		return strings.Trim(s, "[]"), 0, false
	}
	p, err := strconv.Atoi(s[i+1:])
	if err != nil || p < 1 || p > 65535 {
		return s, 0, false
	}
	return strings.Trim(s[:i], "[]"), p, true
}

func endpointAttrTypes() map[string]attr.Type {
	return map[string]attr.Type{
		"port": types.Int64Type, "user": types.StringType, "private_key": types.StringType,
		"private_key_passphrase": types.StringType, "password": types.StringType, "agent": types.BoolType,
		"known_hosts": types.StringType, "host_key": types.StringType, "insecure_ignore_host_key": types.BoolType,
	}
}

func bastionAttrTypes() map[string]attr.Type {
	t := endpointAttrTypes()
	t["host"] = types.StringType
	return t
}

func sshAttrTypes() map[string]attr.Type {
	t := endpointAttrTypes()
	t["host"] = types.StringType
	t["bastion"] = types.ObjectType{AttrTypes: bastionAttrTypes()}
	t["sudo"] = types.BoolType
	t["timeout"] = types.StringType
	return t
}

// insecureWarning warns, at plan time, about a disabled host key check. It
// reads the one attribute it needs: it runs for every resource on every
// validation.
func insecureWarning(ctx context.Context, cfg tfsdk.Config, sshPath path.Path) diag.Diagnostics {
	var diags diag.Diagnostics
	p := sshPath.AtName("insecure_ignore_host_key")
	var insecure types.Bool
	if cfg.GetAttribute(ctx, p, &insecure).HasError() {
		return diags
	}
	if insecure.ValueBool() {
		diags.AddAttributeWarning(p, "Host Key Verification Disabled",
			"insecure_ignore_host_key = true accepts any host key, so a machine in the middle can read the credentials and change what is applied. Set known_hosts or host_key instead.")
	}
	return diags
}

var osGetenv = os.Getenv
