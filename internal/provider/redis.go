package provider

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/redis/go-redis/v9"

	"github.com/mcpai/terraform-provider-mcpai/internal/redisconf"
	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
)

// redisModel is the `redis` connection object.
type redisModel struct {
	Address  types.String `tfsdk:"address"`
	Username types.String `tfsdk:"username"`
	Password types.String `tfsdk:"password"`
	DB       types.Int64  `tfsdk:"db"`
	TLS      types.Object `tfsdk:"tls"`
}

type redisTLSModel struct {
	CACert             types.String `tfsdk:"ca_cert"`
	Cert               types.String `tfsdk:"cert"`
	Key                types.String `tfsdk:"key"`
	ServerName         types.String `tfsdk:"server_name"`
	InsecureSkipVerify types.Bool   `tfsdk:"insecure_skip_verify"`
}

var redisTLSAttrTypes = map[string]attr.Type{
	"ca_cert": types.StringType, "cert": types.StringType, "key": types.StringType,
	"server_name": types.StringType, "insecure_skip_verify": types.BoolType,
}

var redisAttrTypes = map[string]attr.Type{
	"address": types.StringType, "username": types.StringType, "password": types.StringType,
	"db": types.Int64Type, "tls": types.ObjectType{AttrTypes: redisTLSAttrTypes},
}

func redisAttribute() schema.SingleNestedAttribute {
	str := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{MarkdownDescription: desc, Optional: true}
	}
	return schema.SingleNestedAttribute{
		MarkdownDescription: "How to reach the server. With `ssh`, `address` is as the SSH host sees it (e.g. `127.0.0.1:6379`).",
		Required:            true,
		Attributes: map[string]schema.Attribute{
			"address": schema.StringAttribute{
				MarkdownDescription: "`host:port` of the server. Changing it replaces the resource.",
				Required:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:          []validator.String{hostPortValidator()},
			},
			"username": str("ACL user; the default user when unset."),
			"password": schema.StringAttribute{MarkdownDescription: "Password (`requirepass` or the ACL user's).", Optional: true, Sensitive: true},
			"db":       schema.Int64Attribute{MarkdownDescription: "Database number to select. Defaults to `0`.", Optional: true, Validators: []validator.Int64{int64validator.AtLeast(0)}},
			"tls": schema.SingleNestedAttribute{
				MarkdownDescription: "Connect with TLS.",
				Optional:            true,
				Attributes: map[string]schema.Attribute{
					"ca_cert":              str("PEM of the CA that signed the server's certificate; the system's roots when unset."),
					"cert":                 str("PEM of a client certificate, for servers that ask for one."),
					"key":                  schema.StringAttribute{MarkdownDescription: "PEM of the client certificate's key.", Optional: true, Sensitive: true},
					"server_name":          str("Name to verify the server's certificate against; the address's host when unset."),
					"insecure_skip_verify": schema.BoolAttribute{MarkdownDescription: "Do not verify the server's certificate. Anyone in between can then read the password.", Optional: true},
				},
			},
		},
	}
}

// redisOptions builds the client's options, dialling through tunnel when
// given.
func (m redisModel) options(ctx context.Context, tunnel *remote.Client, diags *diag.Diagnostics) *redis.Options {
	opts := &redis.Options{
		Addr:            m.Address.ValueString(),
		Username:        m.Username.ValueString(),
		Password:        m.Password.ValueString(),
		DB:              int(m.DB.ValueInt64()),
		DialTimeout:     15 * time.Second,
		ReadTimeout:     30 * time.Second,
		MaxRetries:      -1, // a failed command is reported, never silently repeated
		DisableIdentity: true,
		Protocol:        2,
	}
	if tunnel != nil {
		opts.Dialer = func(ctx context.Context, _, addr string) (net.Conn, error) { return tunnel.Dial(ctx, "tcp", addr) }
	}
	if m.TLS.IsNull() || m.TLS.IsUnknown() {
		return opts
	}
	var t redisTLSModel
	diags.Append(m.TLS.As(ctx, &t, asObject)...)
	host, _, _ := net.SplitHostPort(m.Address.ValueString())
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host, InsecureSkipVerify: t.InsecureSkipVerify.ValueBool()} //nolint:gosec // opt-in, documented
	if v := t.ServerName.ValueString(); v != "" {
		cfg.ServerName = v
	}
	if v := t.CACert.ValueString(); v != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(v)) {
			diags.AddAttributeError(path.Root("redis").AtName("tls").AtName("ca_cert"), "Invalid CA Certificate", "ca_cert holds no PEM certificate.")
		}
		cfg.RootCAs = pool
	}
	if t.Cert.ValueString() != "" || t.Key.ValueString() != "" {
		pair, err := tls.X509KeyPair([]byte(t.Cert.ValueString()), []byte(t.Key.ValueString()))
		if err != nil {
			diags.AddAttributeError(path.Root("redis").AtName("tls").AtName("cert"), "Invalid Client Certificate", "cert and key must be a matching PEM pair: "+err.Error())
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	opts.TLSConfig = cfg
	return opts
}

// connectRedis opens a client, through the resource's SSH host when it has
// one, and checks it can talk to the server.
func (d *providerData) connectRedis(ctx context.Context, redisObj, sshObj types.Object) (*redis.Client, *remote.Client, redisModel, diag.Diagnostics) {
	var diags diag.Diagnostics
	var m redisModel
	if diags.Append(redisObj.As(ctx, &m, asObject)...); diags.HasError() {
		return nil, nil, m, diags
	}
	tunnel, d2 := d.tunnel(sshObj)
	if diags.Append(d2...); diags.HasError() {
		return nil, nil, m, diags
	}
	opts := m.options(ctx, tunnel, &diags)
	if diags.HasError() {
		return nil, nil, m, diags
	}
	rdb := redis.NewClient(opts)
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		diags.Append(redisError("Unable to Connect to Redis", m, tunnel, err))
		return nil, nil, m, diags
	}
	return rdb, tunnel, m, diags
}

// redisError explains a failure to reach or use the server. The server's
// messages carry no secret, and nothing here adds one.
func redisError(summary string, m redisModel, tunnel *remote.Client, err error) diag.Diagnostic {
	if d, ok := tunnelError(summary, tunnel, err); ok {
		return d
	}
	where := m.Address.ValueString()
	if tunnel != nil {
		where += " through " + tunnel.Config().String()
	}
	kind, detail := redisconf.ClassifyError(err.Error())
	user := m.Username.ValueString()
	if user == "" {
		user = "default"
	}
	switch kind {
	case redisconf.KindAuth:
		return diag.NewAttributeErrorDiagnostic(path.Root("redis").AtName("password"), "Redis Authentication Failed",
			fmt.Sprintf("Redis at %s refused the credentials of user %q (%s). Check username and password.", where, user, detail))
	case redisconf.KindNoPerm:
		return diag.NewAttributeErrorDiagnostic(path.Root("redis").AtName("username"), "Missing Redis Permission",
			fmt.Sprintf("Redis at %s: user %q may not run %s. Grant it (e.g. ACL SETUSER %s +config|get +config|set +config|rewrite +info) or connect as a user that may.", where, user, detail, user))
	case redisconf.KindNoConfigCommand:
		return diag.NewErrorDiagnostic("Redis CONFIG Command Unavailable",
			fmt.Sprintf("Redis at %s does not know the CONFIG command: it is renamed or disabled (rename-command in redis.conf). This resource needs CONFIG GET, SET and REWRITE.", where))
	}
	var netErr net.Error
	hint := ""
	if errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded) {
		hint = " Check the address, that the server listens there, and TLS (a TLS port answers nothing to a plain client)."
	}
	return diag.NewAttributeErrorDiagnostic(path.Root("redis"), summary, fmt.Sprintf("Redis at %s: %v.%s", where, err, hint))
}
