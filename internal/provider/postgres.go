package provider

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
)

// postgresModel is the connection object of the PostgreSQL resources.
type postgresModel struct {
	Host        types.String `tfsdk:"host"`
	Port        types.Int64  `tfsdk:"port"`
	User        types.String `tfsdk:"user"`
	Password    types.String `tfsdk:"password"`
	Database    types.String `tfsdk:"database"`
	SSLMode     types.String `tfsdk:"sslmode"`
	SSLRootCert types.String `tfsdk:"sslrootcert"`
	SSLCert     types.String `tfsdk:"sslcert"`
	SSLKey      types.String `tfsdk:"sslkey"`
}

var postgresAttrTypes = map[string]attr.Type{
	"host": types.StringType, "port": types.Int64Type, "user": types.StringType, "password": types.StringType,
	"database": types.StringType, "sslmode": types.StringType, "sslrootcert": types.StringType,
	"sslcert": types.StringType, "sslkey": types.StringType,
}

// postgresAttribute is the `postgres` connection object. Host and port
// name the server; with `ssh` they are as the SSH host sees them.
func postgresAttribute() schema.SingleNestedAttribute {
	str := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{MarkdownDescription: desc, Optional: true}
	}
	return schema.SingleNestedAttribute{
		MarkdownDescription: "How to reach the server. With `ssh`, `host` and `port` are as the SSH host sees them (default `127.0.0.1`), and no port needs to be exposed.",
		Required:            true,
		Attributes: map[string]schema.Attribute{
			"host": schema.StringAttribute{
				MarkdownDescription: "Server address. Defaults to `127.0.0.1` (through `ssh`, the SSH host itself). Changing it replaces the resource.",
				Optional:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"port":     schema.Int64Attribute{MarkdownDescription: "Server port. Defaults to `5432`.", Optional: true, Validators: []validator.Int64{int64validator.Between(1, 65535)}},
			"user":     schema.StringAttribute{MarkdownDescription: "Role to connect as; it needs superuser (ALTER SYSTEM) or, for indexes, ownership of the table.", Required: true},
			"password": schema.StringAttribute{MarkdownDescription: "Password of `user`.", Optional: true, Sensitive: true},
			"database": str("Database to connect to. Defaults to `postgres`."),
			"sslmode": schema.StringAttribute{
				MarkdownDescription: "libpq `sslmode`: `disable`, `allow`, `prefer`, `require`, `verify-ca` or `verify-full`. " +
					"Unset: `require` for a direct connection, so the password never crosses the network in clear and a server without TLS is refused " +
					"(`require` does not check the server's certificate: `verify-full` with `sslrootcert` does); `prefer` through `ssh`, whose tunnel encrypts. " +
					"`disable`, `allow` and `prefer` may connect in plaintext: set them only on a network you trust.",
				Optional:   true,
				Validators: []validator.String{stringvalidator.OneOf("disable", "allow", "prefer", "require", "verify-ca", "verify-full")},
			},
			"sslrootcert": str("Path of the CA certificate file that verifies the server (`verify-ca`, `verify-full`)."),
			"sslcert":     str("Path of the client certificate file."),
			"sslkey":      str("Path of the client key file."),
		},
	}
}

// optionalSSHAttribute is the ssh object for resources that use SSH only
// for a tunnel and host-side steps.
func optionalSSHAttribute(desc string) schema.SingleNestedAttribute {
	a := resourceSSHAttribute()
	a.Required, a.Optional = false, true
	a.MarkdownDescription = desc + " Changes then take the host's lock, waiting for other runs changing that host; without `ssh` there is no host to lock. " + a.MarkdownDescription
	return a
}

func postgresModelFrom(ctx context.Context, obj types.Object, diags *diag.Diagnostics) postgresModel {
	var m postgresModel
	diags.Append(obj.As(ctx, &m, asObject)...)
	return m
}

// hostPort returns where the server is, with defaults.
func (m postgresModel) hostPort() (string, int) {
	host, port := "127.0.0.1", 5432
	if v := m.Host.ValueString(); v != "" {
		host = v
	}
	if !m.Port.IsNull() && !m.Port.IsUnknown() {
		port = int(m.Port.ValueInt64())
	}
	return host, port
}

func (m postgresModel) database() string {
	if v := m.Database.ValueString(); v != "" {
		return v
	}
	return "postgres"
}

// pgConfig builds the driver's configuration. The user's values travel in
// a URL whose parts url.URL escapes, so no value can add a parameter.
func (m postgresModel) pgConfig(tunnel *remote.Client, timeout time.Duration) (*pgx.ConnConfig, error) {
	host, port := m.hostPort()
	q := url.Values{}
	q.Set("sslmode", m.sslmode(tunnel))
	for k, v := range map[string]types.String{"sslrootcert": m.SSLRootCert, "sslcert": m.SSLCert, "sslkey": m.SSLKey} {
		if v.ValueString() != "" {
			q.Set(k, v.ValueString())
		}
	}
	u := url.URL{Scheme: "postgres", User: url.User(m.User.ValueString()), Host: net.JoinHostPort(host, strconv.Itoa(port)), Path: "/" + m.database(), RawQuery: q.Encode()}
	cfg, err := pgx.ParseConfig(u.String())
	if err != nil {
		return nil, err
	}
	// The password never goes into a string that could end up in an error.
	cfg.Password = m.Password.ValueString()
	cfg.ConnectTimeout = timeout
	cfg.RuntimeParams["application_name"] = "terraform-provider-mcpai"
	if tunnel != nil {
		cfg.LookupFunc = func(_ context.Context, h string) ([]string, error) { return []string{h}, nil }
		cfg.DialFunc = func(ctx context.Context, _, addr string) (net.Conn, error) { return tunnel.Dial(ctx, "tcp", addr) }
	}
	return cfg, nil
}

// sslmode is the user's, else one that never sends the password in
// plaintext: require for a direct connection, prefer through an SSH tunnel,
// which encrypts already.
func (m postgresModel) sslmode(tunnel *remote.Client) string {
	switch {
	case m.SSLMode.ValueString() != "":
		return m.SSLMode.ValueString()
	case tunnel != nil:
		return "prefer"
	}
	return "require"
}

// postgresTarget is "host:port/database", for IDs and messages.
func (m postgresModel) target() string {
	host, port := m.hostPort()
	return net.JoinHostPort(host, strconv.Itoa(port)) + "/" + m.database()
}

// connectPostgres opens a connection, through the resource's SSH host when
// it has one (then also returned, for host-side steps).
func (d *providerData) connectPostgres(ctx context.Context, pgObj, sshObj types.Object) (*pgx.Conn, *remote.Client, postgresModel, diag.Diagnostics) {
	var diags diag.Diagnostics
	m := postgresModelFrom(ctx, pgObj, &diags)
	if diags.HasError() {
		return nil, nil, m, diags
	}
	tunnel, d2 := d.tunnel(sshObj)
	if diags.Append(d2...); diags.HasError() {
		return nil, nil, m, diags
	}
	cfg, err := m.pgConfig(tunnel, 30*time.Second)
	if err != nil {
		diags.AddAttributeError(path.Root("postgres"), "Invalid PostgreSQL Connection", err.Error())
		return nil, nil, m, diags
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		diags.Append(postgresError("Unable to Connect to PostgreSQL", m, tunnel, err))
		return nil, nil, m, diags
	}
	return conn, tunnel, m, diags
}

// postgresError describes a failure to reach or use the server: what was
// tried, what the server said, and what to do. The password is never in it
// (the driver does not print it, and nothing here adds it).
func postgresError(summary string, m postgresModel, tunnel *remote.Client, err error) diag.Diagnostic {
	if d, ok := tunnelError(summary, tunnel, err); ok {
		return d
	}
	var pgErr *pgconn.PgError
	hint := "Check host, port, user and password, and that the server accepts this client (pg_hba.conf)."
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == "28P01":
		hint = "The server refused the password of " + strconv.Quote(m.User.ValueString()) + "."
	case tunnel == nil && strings.Contains(err.Error(), "server refused TLS connection"):
		return diag.NewAttributeErrorDiagnostic(path.Root("postgres").AtName("sslmode"), summary,
			fmt.Sprintf("PostgreSQL at %s offers no TLS, and a direct connection does not send the password and data in plaintext "+
				"(sslmode is %q). Turn on ssl in the server's postgresql.conf, reach it through ssh (the tunnel encrypts), "+
				"or, on a network you trust, set sslmode = \"disable\" to accept a plaintext connection. Nothing was changed.", m.target(), m.sslmode(tunnel)))
	}
	via := ""
	if tunnel != nil {
		via = " through " + tunnel.Config().String()
	}
	return diag.NewAttributeErrorDiagnostic(path.Root("postgres"), summary,
		fmt.Sprintf("PostgreSQL at %s%s: %v. %s", m.target(), via, err, hint))
}
