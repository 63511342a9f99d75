package provider

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mcpai/terraform-provider-mcpai/internal/postgres"
	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
)

var (
	_ resource.Resource                   = (*postgresIndexResource)(nil)
	_ resource.ResourceWithConfigure      = (*postgresIndexResource)(nil)
	_ resource.ResourceWithValidateConfig = (*postgresIndexResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*postgresIndexResource)(nil)
	_ resource.ResourceWithImportState    = (*postgresIndexResource)(nil)
)

const (
	indexOrderAsc   = "asc"
	indexOrderDesc  = "desc"
	indexNullsFirst = "first"
	indexNullsLast  = "last"
	// indexCancelGrace is how long a build the server was asked to cancel
	// may take to stop before the connection is dropped.
	indexCancelGrace = 30 * time.Second
)

type postgresIndexResource struct {
	data *providerData
}

func newPostgresIndexResource() resource.Resource { return &postgresIndexResource{} }

type postgresIndexModel struct {
	ID         types.String   `tfsdk:"id"`
	Postgres   types.Object   `tfsdk:"postgres"`
	SSH        types.Object   `tfsdk:"ssh"`
	Name       types.String   `tfsdk:"name"`
	Schema     types.String   `tfsdk:"schema"`
	Table      types.String   `tfsdk:"table"`
	Columns    types.List     `tfsdk:"columns"`
	Unique     types.Bool     `tfsdk:"unique"`
	Method     types.String   `tfsdk:"method"`
	Where      types.String   `tfsdk:"where"`
	Valid      types.Bool     `tfsdk:"valid"`
	Definition types.String   `tfsdk:"definition"`
	Timeouts   timeouts.Value `tfsdk:"timeouts"`
}

type indexColumnModel struct {
	Name  types.String `tfsdk:"name"`
	Order types.String `tfsdk:"order"`
	Nulls types.String `tfsdk:"nulls"`
}

var indexColumnAttrTypes = map[string]attr.Type{"name": types.StringType, "order": types.StringType, "nulls": types.StringType}

func (r *postgresIndexResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_postgres_index"
}

func (r *postgresIndexResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	pg := postgresAttribute()
	pg.PlanModifiers = []planmodifier.Object{objectplanmodifier.RequiresReplaceIf(postgresServerChanged,
		"Changing port or database replaces the resource.", "Changing `port` or `database` replaces the resource: the index is on another server.")}
	resp.Schema = schema.Schema{
		MarkdownDescription: "An index on a PostgreSQL table, built with `CREATE INDEX CONCURRENTLY` so writes to the table go on during the build. " +
			"A build that fails (duplicate keys for a unique index, a predicate the server refuses, a timeout) is dropped again, so no invalid index is left behind; " +
			"an invalid index of the same name left by an earlier failed build is dropped and rebuilt; a valid one with the same definition is adopted. " +
			"An index cannot be altered, so changing what it covers replaces it (`DROP INDEX CONCURRENTLY`, then a new build).",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "`schema.name`.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"postgres": pg,
			"ssh":      optionalSSHAttribute("Optional: the server's host over SSH. The connection then goes through an SSH tunnel, so the server's port need not be exposed."),
			"name": schema.StringAttribute{
				MarkdownDescription: "Index name, unique among the tables and indexes of `schema`. Taken literally (always quoted): `Orders_By_Date` keeps its capitals. At most 63 bytes.",
				Required:            true,
				PlanModifiers:       replace,
				Validators:          []validator.String{identifierValidator()},
			},
			"schema": schema.StringAttribute{
				MarkdownDescription: "Schema of the table (and so of the index). Defaults to `public`.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString("public"),
				PlanModifiers:       replace,
				Validators:          []validator.String{identifierValidator()},
			},
			"table": schema.StringAttribute{
				MarkdownDescription: "Table to index, taken literally (always quoted).",
				Required:            true,
				PlanModifiers:       replace,
				Validators:          []validator.String{identifierValidator()},
			},
			"columns": schema.ListNestedAttribute{
				MarkdownDescription: "Key columns, in index order.",
				Required:            true,
				Validators:          []validator.List{listvalidator.SizeAtLeast(1)},
				PlanModifiers: []planmodifier.List{listplanmodifier.RequiresReplaceIf(lengthChanged,
					"Adding or removing a column replaces the index.", "Adding or removing a column replaces the index.")},
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"name": schema.StringAttribute{
						MarkdownDescription: "Column name, taken literally (always quoted).",
						Required:            true,
						PlanModifiers:       replace,
						Validators:          []validator.String{identifierValidator()},
					},
					"order": schema.StringAttribute{
						MarkdownDescription: "`asc` (default) or `desc`. Only `btree` indexes are ordered.",
						Optional:            true,
						Computed:            true,
						Default:             stringdefault.StaticString(indexOrderAsc),
						PlanModifiers:       replace,
						Validators:          []validator.String{stringvalidator.OneOf(indexOrderAsc, indexOrderDesc)},
					},
					"nulls": schema.StringAttribute{
						MarkdownDescription: "Where nulls sort: `first` or `last`. Defaults to what PostgreSQL does: `last` for `asc`, `first` for `desc`. Only `btree` indexes are ordered.",
						Optional:            true,
						Computed:            true,
						PlanModifiers:       []planmodifier.String{nullsDefault{}, stringplanmodifier.RequiresReplace()},
						Validators:          []validator.String{stringvalidator.OneOf(indexNullsFirst, indexNullsLast)},
					},
				}},
			},
			"unique": schema.BoolAttribute{
				MarkdownDescription: "Whether the index enforces uniqueness (`btree` only). Defaults to `false`. A build over rows that are not unique fails with the server's message naming the duplicate key, and is dropped again.",
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(false),
				PlanModifiers:       []planmodifier.Bool{boolplanmodifier.RequiresReplace()},
			},
			"method": schema.StringAttribute{
				MarkdownDescription: "Access method: `btree` (default), `hash`, `gist`, `gin`, `brin` or `spgist`. The column types need a default operator class for it (e.g. `gin` on `jsonb`, `tsvector` or arrays).",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(postgres.IndexMethods[0]),
				PlanModifiers:       replace,
				Validators:          []validator.String{stringvalidator.OneOf(postgres.IndexMethods...)},
			},
			"where": schema.StringAttribute{
				MarkdownDescription: "Makes a partial index: a SQL predicate over the table's columns, e.g. `status = 'active' AND deleted_at IS NULL`. " +
					"**It is SQL that you own**: it is passed to the server as written, after `WHERE`, and nothing in it is quoted or escaped for you, so never build it from untrusted input. " +
					"It runs as a single statement (no `;` can add another), and the server accepts only immutable expressions without subqueries. " +
					"Changing it replaces the index, unless the server reads the new text as the same predicate (e.g. after an import, which records the server's spelling, such as `(status = 'active'::text)`); then only the spelling in the state changes.",
				Optional: true,
				Validators: []validator.String{stringvalidator.LengthAtLeast(1), stringCheck{"Invalid Index Predicate", "must not contain NUL bytes", func(s string) error {
					if strings.ContainsRune(s, 0) {
						return errors.New("the predicate contains a NUL byte")
					}
					return nil
				}}},
			},
			"valid": schema.BoolAttribute{
				MarkdownDescription: "Whether the server can use the index (`pg_index.indisvalid`). Always `true` in a state that a refresh wrote: an invalid index is planned to be rebuilt.",
				Computed:            true,
				PlanModifiers:       []planmodifier.Bool{boolplanmodifier.UseStateForUnknown()},
			},
			"definition": schema.StringAttribute{
				MarkdownDescription: "The index as the server describes it (`pg_get_indexdef`), e.g. `CREATE INDEX orders_by_date ON public.orders USING btree (created_at DESC)`.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"timeouts": timeouts.Attributes(ctx, timeouts.Opts{Create: true, Read: true, Update: true, Delete: true}),
		},
	}
}

func (r *postgresIndexResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configureData(req.ProviderData, &resp.Diagnostics)
}

// ValidateConfig rejects, before any server is asked, what no access method
// but btree can do.
func (r *postgresIndexResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m postgresIndexModel
	if resp.Diagnostics.Append(req.Config.Get(ctx, &m)...); resp.Diagnostics.HasError() {
		return
	}
	if !m.SSH.IsNull() {
		resp.Diagnostics.Append(insecureWarning(ctx, req.Config, path.Root("ssh"))...)
	}
	method := m.Method.ValueString()
	if m.Method.IsUnknown() || method == "" || method == "btree" {
		return
	}
	if m.Unique.ValueBool() {
		resp.Diagnostics.AddAttributeError(path.Root("unique"), "Unique Index Needs btree",
			fmt.Sprintf("Only btree indexes can be unique; method is %q. Remove unique, or use method = \"btree\".", method))
	}
	if m.Columns.IsUnknown() {
		return
	}
	var cols []indexColumnModel
	resp.Diagnostics.Append(m.Columns.ElementsAs(ctx, &cols, false)...)
	if method == "hash" && len(cols) > 1 {
		resp.Diagnostics.AddAttributeError(path.Root("columns"), "Hash Index Has One Column",
			fmt.Sprintf("A hash index covers exactly one column; %d are listed. Use one column, or method = \"btree\".", len(cols)))
	}
	for i, c := range cols {
		for _, a := range []struct {
			name  string
			value types.String
		}{{"order", c.Order}, {"nulls", c.Nulls}} {
			if !a.value.IsNull() && !a.value.IsUnknown() {
				resp.Diagnostics.AddAttributeError(path.Root("columns").AtListIndex(i).AtName(a.name), "Index Method Is Not Ordered",
					fmt.Sprintf("Only btree indexes have a sort order; a %s index takes neither order nor nulls. Remove %s, or use method = \"btree\".", method, a.name))
			}
		}
	}
}

// ModifyPlan decides whether a new spelling of `where` is a new predicate
// (replace) or the one the index has (update the state only). Only the
// server can tell: it is asked when the text changes.
func (r *postgresIndexResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || req.State.Raw.IsNull() {
		return
	}
	var plan, state postgresIndexModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || plan.Where.Equal(state.Where) {
		return
	}
	if plan.Where.IsNull() || state.Where.IsNull() || !r.samePredicate(ctx, plan, state) {
		resp.RequiresReplace = append(resp.RequiresReplace, path.Root("where"))
	}
}

// samePredicate reports whether the server reads the planned predicate as
// the one in the index's definition; anything unknown or failing says no,
// which replaces the index (the safe answer).
func (r *postgresIndexResource) samePredicate(ctx context.Context, plan, state postgresIndexModel) bool {
	if r.data == nil || plan.Where.IsUnknown() || plan.Postgres.IsUnknown() || plan.SSH.IsUnknown() || plan.Columns.IsUnknown() || plan.Table.IsUnknown() {
		return false
	}
	var diags diag.Diagnostics
	ix := indexFrom(ctx, plan, &diags)
	if diags.HasError() {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	conn, _, _, diags := r.data.connectPostgres(ctx, plan.Postgres, plan.SSH)
	if diags.HasError() {
		return false
	}
	defer conn.Close(context.WithoutCancel(ctx)) //nolint:errcheck // only a probe
	pred, err := serverPredicate(ctx, conn, ix)
	if err != nil {
		tflog.Warn(ctx, "could not compare index predicates; planning to replace the index", map[string]any{"error": err.Error()})
		return false
	}
	return strings.HasSuffix(state.Definition.ValueString(), " WHERE "+pred)
}

func (r *postgresIndexResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan postgresIndexModel
	if resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...); resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, defaultApplyTimeout)
	ix := indexFrom(ctx, plan, &diags)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, tunnel, pm, diags := r.data.connectPostgres(ctx, plan.Postgres, plan.SSH)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	defer conn.Close(context.WithoutCancel(ctx)) //nolint:errcheck // best effort
	unlock, diags := lockHost(ctx, tunnel, "Unable to Create PostgreSQL Index", "mcpai_postgres_index "+pm.target()+" "+plan.Name.ValueString())
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	defer unlock()
	live, diags := createIndex(ctx, conn, pgServer{pm, tunnel}, ix)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	plan.setLive(ix, live)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// Read removes the index from the state when it is gone or invalid, so the
// plan builds it again; an index replaced by a different one under the same
// name shows as a change of what it covers.
func (r *postgresIndexResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state postgresIndexModel
	if resp.Diagnostics.Append(req.State.Get(ctx, &state)...); resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := state.Timeouts.Read(ctx, defaultReadTimeout)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, tunnel, pm, diags := r.data.connectPostgres(ctx, state.Postgres, state.SSH)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	defer conn.Close(context.WithoutCancel(ctx)) //nolint:errcheck // closing a connection we only read on
	schemaName, name := state.Schema.ValueString(), state.Name.ValueString()
	qualified := pgx.Identifier{schemaName, name}.Sanitize()
	live, err := lookupIndex(ctx, conn, schemaName, name)
	if err != nil {
		resp.Diagnostics.Append(postgresError("Unable to Read PostgreSQL Index", pm, tunnel, err))
		return
	}
	importing := state.Definition.ValueString() == ""
	switch {
	case live == nil && importing:
		resp.Diagnostics.AddAttributeError(path.Root("name"), "Unable to Import PostgreSQL Index",
			fmt.Sprintf("There is no index %s on %s. Check the schema and name in the import ID (host:port/database/schema.name).", qualified, pm.target()))
		return
	case live == nil:
		tflog.Warn(ctx, "postgres index is gone; the plan creates it again", map[string]any{"index": qualified, "server": pm.target()})
		resp.State.RemoveResource(ctx)
		return
	case !live.Valid:
		// Left by a failed concurrent build (or one still running): the
		// server does not use it, and Create drops and rebuilds it.
		tflog.Warn(ctx, "postgres index is invalid; the plan rebuilds it", map[string]any{"index": qualified, "server": pm.target(), "definition": live.Definition})
		resp.State.RemoveResource(ctx)
		return
	}
	if importing || live.Definition != state.Definition.ValueString() {
		ix, err := live.Index(schemaName, name)
		if err != nil && importing {
			resp.Diagnostics.AddAttributeError(path.Root("name"), "Unable to Import PostgreSQL Index", fmt.Sprintf("%v on %s. Manage it another way, or drop it and let this resource build it.", err, pm.target()))
			return
		}
		if err != nil {
			// Another index took the name, one this resource cannot
			// describe: the plan creates ours, and Create reports the clash.
			tflog.Warn(ctx, "postgres index was replaced by one this resource cannot describe", map[string]any{"index": qualified, "error": err.Error()})
			resp.State.RemoveResource(ctx)
			return
		}
		// The user's spelling of an unchanged predicate stands; the
		// server's stands for a new one (and after an import).
		if !importing && live.KeepsPredicate(state.Definition.ValueString()) {
			ix.Predicate = state.Where.ValueString()
		}
		state.setIndex(ix, &resp.Diagnostics)
	}
	state.setLive(postgres.Index{Schema: schemaName, Name: name}, *live)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// Update only records what changes nothing on the server: credentials,
// timeouts, a new spelling of the same predicate.
func (r *postgresIndexResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan postgresIndexModel
	if resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...); resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *postgresIndexResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state postgresIndexModel
	if resp.Diagnostics.Append(req.State.Get(ctx, &state)...); resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := state.Timeouts.Delete(ctx, defaultApplyTimeout)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, tunnel, pm, diags := r.data.connectPostgres(ctx, state.Postgres, state.SSH)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	defer conn.Close(context.WithoutCancel(ctx)) //nolint:errcheck // best effort
	unlock, diags := lockHost(ctx, tunnel, "Unable to Drop PostgreSQL Index", "mcpai_postgres_index "+pm.target()+" "+state.Name.ValueString())
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	defer unlock()
	stmt := postgres.DropIndexSQL(state.Schema.ValueString(), state.Name.ValueString())
	if err := execStatement(ctx, conn, stmt); err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("name"), "Unable to Drop PostgreSQL Index", fmt.Sprintf(
			"%s on %s failed: the server said: %s. The index is still there; fix the cause (the role must own the table) and destroy again.", stmt, pm.target(), serverMessage(err)))
	}
}

func (r *postgresIndexResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	// host:port/database/schema.name — credentials from PGUSER and
	// PGPASSWORD. The schema is up to the first dot.
	invalid := func(why string) {
		resp.Diagnostics.AddError("Invalid Import ID", fmt.Sprintf("%q is not host:port/database/schema.name%s: use e.g. 10.0.0.5:5432/app/public.orders_by_date. The user, password and sslmode come from PGUSER, PGPASSWORD and PGSSLMODE.", req.ID, why))
	}
	i, j := strings.LastIndex(req.ID, "/"), strings.Index(req.ID, "/")
	if i <= 0 || i == j {
		invalid("")
		return
	}
	hostPort, database, qualified := req.ID[:j], req.ID[j+1:i], req.ID[i+1:]
	schemaName, name, ok := strings.Cut(qualified, ".")
	if !ok {
		schemaName, name = "public", qualified
	}
	for _, s := range []string{database, schemaName, name} {
		if err := postgres.ValidateIdentifier(s); err != nil {
			invalid(" (" + err.Error() + ")")
			return
		}
	}
	pgObj, diags := postgresObjectFromEnv(ctx, hostPort, database)
	resp.Diagnostics.Append(diags...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("postgres"), pgObj)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("schema"), schemaName)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("columns"), types.ListNull(types.ObjectType{AttrTypes: indexColumnAttrTypes}))...)
	// Read sees no definition and fills in the rest from the catalog.
}

// postgresObjectFromEnv is the postgres object of an import: the server
// from the ID; the user, password and sslmode from PGUSER, PGPASSWORD and
// PGSSLMODE, as libpq reads them.
func postgresObjectFromEnv(ctx context.Context, hostPort, database string) (types.Object, diag.Diagnostics) {
	host, port := hostPort, 5432
	if h, p, ok := splitHostPort(hostPort); ok {
		host, port = h, p
	}
	user := os.Getenv("PGUSER")
	if user == "" {
		user = "postgres"
	}
	pg := postgresModel{Host: types.StringValue(host), Port: types.Int64Value(int64(port)), User: types.StringValue(user),
		Password: types.StringNull(), Database: types.StringValue(database), SSLMode: types.StringNull(),
		SSLRootCert: types.StringNull(), SSLCert: types.StringNull(), SSLKey: types.StringNull()}
	if pw, ok := os.LookupEnv("PGPASSWORD"); ok {
		pg.Password = types.StringValue(pw)
	}
	if mode := os.Getenv("PGSSLMODE"); mode != "" {
		pg.SSLMode = types.StringValue(mode)
	}
	return types.ObjectValueFrom(ctx, postgresAttrTypes, pg)
}

// postgresServerChanged: a new port or database is another server (host
// replaces by itself); new credentials reach the same index.
func postgresServerChanged(ctx context.Context, req planmodifier.ObjectRequest, resp *objectplanmodifier.RequiresReplaceIfFuncResponse) {
	if req.StateValue.IsNull() || req.PlanValue.IsNull() {
		return
	}
	if req.PlanValue.IsUnknown() {
		resp.RequiresReplace = true
		return
	}
	before := postgresModelFrom(ctx, req.StateValue, &resp.Diagnostics)
	after := postgresModelFrom(ctx, req.PlanValue, &resp.Diagnostics)
	_, portBefore := before.hostPort()
	_, portAfter := after.hostPort()
	resp.RequiresReplace = after.Port.IsUnknown() || after.Database.IsUnknown() ||
		portBefore != portAfter || before.database() != after.database()
}

func lengthChanged(_ context.Context, req planmodifier.ListRequest, resp *listplanmodifier.RequiresReplaceIfFuncResponse) {
	resp.RequiresReplace = !req.StateValue.IsNull() && !req.PlanValue.IsUnknown() && len(req.PlanValue.Elements()) != len(req.StateValue.Elements())
}

// nullsDefault plans `nulls` as PostgreSQL sorts them when it is not set:
// last ascending, first descending. The state then always says where nulls
// go, and an import (which reads it from the catalog) matches the config.
type nullsDefault struct{}

func (nullsDefault) Description(context.Context) string {
	return "defaults to last for asc and first for desc"
}
func (d nullsDefault) MarkdownDescription(ctx context.Context) string { return d.Description(ctx) }
func (nullsDefault) PlanModifyString(ctx context.Context, req planmodifier.StringRequest, resp *planmodifier.StringResponse) {
	if !req.ConfigValue.IsNull() {
		return
	}
	var order types.String
	if resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, req.Path.ParentPath().AtName("order"), &order)...); resp.Diagnostics.HasError() {
		return
	}
	switch {
	case order.IsUnknown():
		resp.PlanValue = types.StringUnknown()
	case order.ValueString() == indexOrderDesc:
		resp.PlanValue = types.StringValue(indexNullsFirst)
	default:
		resp.PlanValue = types.StringValue(indexNullsLast)
	}
}

func identifierValidator() validator.String {
	return stringCheck{"Invalid PostgreSQL Name", "must be a non-empty name of at most 63 bytes without NUL bytes", postgres.ValidateIdentifier}
}

// indexFrom converts the model into the index it describes.
func indexFrom(ctx context.Context, m postgresIndexModel, diags *diag.Diagnostics) postgres.Index {
	ix := postgres.Index{Schema: m.Schema.ValueString(), Name: m.Name.ValueString(), Table: m.Table.ValueString(),
		Method: m.Method.ValueString(), Unique: m.Unique.ValueBool(), Predicate: m.Where.ValueString()}
	var cols []indexColumnModel
	diags.Append(m.Columns.ElementsAs(ctx, &cols, false)...)
	for _, c := range cols {
		desc := c.Order.ValueString() == indexOrderDesc
		nullsFirst := desc
		if !c.Nulls.IsNull() && !c.Nulls.IsUnknown() {
			nullsFirst = c.Nulls.ValueString() == indexNullsFirst
		}
		ix.Columns = append(ix.Columns, postgres.IndexColumn{Name: c.Name.ValueString(), Descending: desc, NullsFirst: nullsFirst})
	}
	return ix
}

// setIndex records what an index covers, as read from the catalog.
func (m *postgresIndexModel) setIndex(ix postgres.Index, diags *diag.Diagnostics) {
	m.Schema, m.Name, m.Table = types.StringValue(ix.Schema), types.StringValue(ix.Name), types.StringValue(ix.Table)
	m.Method, m.Unique = types.StringValue(ix.Method), types.BoolValue(ix.Unique)
	m.Where = types.StringNull()
	if ix.Predicate != "" {
		m.Where = types.StringValue(ix.Predicate)
	}
	cols := make([]indexColumnModel, len(ix.Columns))
	for i, c := range ix.Columns {
		order, nulls := indexOrderAsc, indexNullsLast
		if c.Descending {
			order = indexOrderDesc
		}
		if c.NullsFirst {
			nulls = indexNullsFirst
		}
		cols[i] = indexColumnModel{Name: types.StringValue(c.Name), Order: types.StringValue(order), Nulls: types.StringValue(nulls)}
	}
	list, d := types.ListValueFrom(context.Background(), types.ObjectType{AttrTypes: indexColumnAttrTypes}, cols)
	diags.Append(d...)
	m.Columns = list
}

// setLive records the server's view of the index ix names.
func (m *postgresIndexModel) setLive(ix postgres.Index, live postgres.CatalogIndex) {
	m.ID = types.StringValue(ix.Schema + "." + ix.Name)
	m.Valid = types.BoolValue(live.Valid)
	m.Definition = types.StringValue(live.Definition)
}

// pgServer is a connected server, for messages.
type pgServer struct {
	pm     postgresModel
	tunnel *remote.Client
}

// createIndex builds ix concurrently, or adopts an index of the same
// definition, and returns what the catalog then says of it. An invalid
// index in the way is dropped first; a failed build is dropped again.
func createIndex(ctx context.Context, conn *pgx.Conn, srv pgServer, ix postgres.Index) (postgres.CatalogIndex, diag.Diagnostics) {
	const summary = "Unable to Create PostgreSQL Index"
	var diags diag.Diagnostics
	qualified, target := ix.QualifiedName(), srv.pm.target()
	stmt, err := ix.CreateSQL(true)
	if err != nil {
		diags.AddError(summary, err.Error()+".")
		return postgres.CatalogIndex{}, diags
	}
	found, err := lookupIndex(ctx, conn, ix.Schema, ix.Name)
	if err != nil {
		diags.Append(postgresError(summary, srv.pm, srv.tunnel, err))
		return postgres.CatalogIndex{}, diags
	}
	switch {
	case found != nil && !found.Valid:
		tflog.Warn(ctx, "dropping an invalid index left by a failed concurrent build before rebuilding it", map[string]any{"index": qualified, "server": target, "definition": found.Definition})
		if err := execStatement(ctx, conn, postgres.DropIndexSQL(ix.Schema, ix.Name)); err != nil {
			diags.AddAttributeError(path.Root("name"), summary, fmt.Sprintf(
				"An invalid index %s (left by a failed concurrent build) is in the way on %s, and dropping it failed: the server said: %s. Drop it by hand (DROP INDEX CONCURRENTLY %s), then apply again.",
				qualified, target, serverMessage(err), qualified))
			return postgres.CatalogIndex{}, diags
		}
	case found != nil:
		same, why := sameIndex(ctx, conn, *found, ix)
		if same {
			tflog.Info(ctx, "adopting an existing index with the same definition", map[string]any{"index": qualified, "server": target})
			return *found, diags
		}
		diags.AddAttributeError(path.Root("name"), summary, fmt.Sprintf(
			"An index %s already exists on %s with another definition%s:\n  %s\nThe configuration asks for:\n  %s\nImport it to manage it as it is (terraform import ... %s/%s.%s), drop it, or choose another name.",
			qualified, target, why, found.Definition, stmt, target, ix.Schema, ix.Name))
		return postgres.CatalogIndex{}, diags
	}

	if err := buildConcurrently(ctx, conn, ix, stmt); err != nil {
		diags.Append(buildError(ctx, conn, srv, ix, stmt, err))
		return postgres.CatalogIndex{}, diags
	}
	created, err := lookupIndex(ctx, conn, ix.Schema, ix.Name)
	switch {
	case err != nil:
		diags.Append(postgresError(summary, srv.pm, srv.tunnel, err))
	case created == nil || !created.Valid:
		diags.AddAttributeError(path.Root("name"), summary, fmt.Sprintf(
			"%s succeeded on %s, but the catalog then shows no valid index %s. Run terraform apply again.", stmt, target, qualified))
	default:
		tflog.Info(ctx, "postgres index built", map[string]any{"index": qualified, "server": target})
		return *created, diags
	}
	return postgres.CatalogIndex{}, diags
}

// sameIndex reports whether the existing valid index is the one ix
// describes; if not, why is a short reason for the message.
func sameIndex(ctx context.Context, conn *pgx.Conn, found postgres.CatalogIndex, ix postgres.Index) (same bool, why string) {
	existing, err := found.Index(ix.Schema, ix.Name)
	if err != nil {
		return false, " (" + err.Error() + ")"
	}
	if !existing.SameKeys(ix) {
		return false, ""
	}
	switch {
	case ix.Predicate == "" && found.Predicate == nil:
		return true, ""
	case ix.Predicate == "" || found.Predicate == nil:
		return false, ""
	}
	pred, err := serverPredicate(ctx, conn, ix)
	if err != nil {
		return false, " (comparing the predicates failed: " + serverMessage(err) + ")"
	}
	return pred == *found.Predicate, ""
}

// buildError describes a failed CREATE INDEX CONCURRENTLY, after dropping
// the invalid index a failed concurrent build leaves behind.
func buildError(ctx context.Context, conn *pgx.Conn, srv pgServer, ix postgres.Index, stmt string, err error) diag.Diagnostic {
	const summary = "Unable to Create PostgreSQL Index"
	cleanup := dropFailedBuild(ctx, conn, ix)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) && !errors.Is(err, context.DeadlineExceeded) {
		return postgresError(summary, srv.pm, srv.tunnel, fmt.Errorf("%w. %s", err, cleanup))
	}
	attribute, hint := path.Root("timeouts").AtName("create"), ""
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		hint = " The build ran out of time: raise timeouts.create (large tables take long, and a concurrent build first waits for the transactions running on the table)."
	default:
		name := ix.IndexErrorAttribute(pgErr.Code, pgErr.Message)
		attribute = path.Root(name)
		switch name {
		case "unique":
			hint = " Remove the duplicates, or set unique = false."
		case "where":
			hint = " Fix the predicate: it is SQL passed to the server as written."
		}
	}
	return diag.NewAttributeErrorDiagnostic(attribute, summary, fmt.Sprintf(
		"Building index %s on %s failed: the server said: %s\n\nThe statement was:\n  %s\n\n%s%s",
		ix.QualifiedName(), srv.pm.target(), serverMessage(err), stmt, cleanup, hint))
}

// buildConcurrently runs a CREATE INDEX CONCURRENTLY. Two concurrent
// builds on one table deadlock (each waits for the other's transaction to
// end) and the server cancels one with 40P01; that one's invalid index is
// dropped and the build tried again, after the other has had time to finish.
func buildConcurrently(ctx context.Context, conn *pgx.Conn, ix postgres.Index, stmt string) error {
	const deadlockDetected = "40P01"
	wait := 500 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := execStatement(ctx, conn, stmt)
		var pgErr *pgconn.PgError
		if err == nil || attempt == 6 || !errors.As(err, &pgErr) || pgErr.Code != deadlockDetected {
			return err
		}
		tflog.Info(ctx, "concurrent index builds on one table deadlocked; retrying", map[string]any{"index": ix.QualifiedName(), "attempt": attempt})
		dropFailedBuild(ctx, conn, ix)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait + time.Duration(rand.Int64N(int64(wait)))): //nolint:gosec // jitter, not security
		}
		wait *= 2
	}
}

// dropFailedBuild drops what a failed concurrent build left: an invalid
// index of the name, never a valid one (another's, made meanwhile).
func dropFailedBuild(ctx context.Context, conn *pgx.Conn, ix postgres.Index) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	if conn.IsClosed() {
		return "The connection was lost, so an invalid index may be left behind: the next apply drops and rebuilds it."
	}
	left, err := lookupIndex(ctx, conn, ix.Schema, ix.Name)
	if err == nil && left != nil && !left.Valid {
		err = execStatement(ctx, conn, postgres.DropIndexSQL(ix.Schema, ix.Name))
	}
	if err != nil {
		return fmt.Sprintf("Dropping the invalid index the failed build left also failed (%s): the next apply drops and rebuilds it, or run DROP INDEX CONCURRENTLY %s.", serverMessage(err), ix.QualifiedName())
	}
	return "Nothing was left behind: the failed build was dropped."
}

// serverMessage is the server's message and detail, or the error.
func serverMessage(err error) string {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err.Error()
	}
	msg := pgErr.Message
	if pgErr.Detail != "" {
		msg += " (" + pgErr.Detail + ")"
	}
	if pgErr.Hint != "" {
		msg += " Hint: " + pgErr.Hint
	}
	return msg + " [SQLSTATE " + pgErr.Code + "]"
}

// execStatement runs one statement through the extended protocol: outside
// any transaction (CONCURRENTLY needs that), and one statement only, so no
// ';' in a predicate can add another. When ctx ends, the server is asked to
// cancel the statement, so a build stops (and can be cleaned up) instead of
// running on unseen; the connection is dropped only if that does not end it
// within indexCancelGrace.
func execStatement(ctx context.Context, conn *pgx.Conn, sql string) error {
	execCtx, drop := context.WithCancel(context.WithoutCancel(ctx))
	defer drop()
	finished := make(chan struct{})
	var watcher sync.WaitGroup
	watcher.Go(func() {
		select {
		case <-ctx.Done():
			cancelCtx, cancel := context.WithTimeout(execCtx, indexCancelGrace)
			defer cancel()
			_ = conn.PgConn().CancelRequest(cancelCtx) //nolint:contextcheck // the statement's own context has ended
			select {
			case <-finished:
			case <-cancelCtx.Done():
				drop()
			}
		case <-finished:
		}
	})
	_, err := conn.PgConn().ExecParams(execCtx, sql, nil, nil, nil, nil).Close()
	close(finished)
	// No cancel request may reach the server after this returns: it would
	// cancel the next statement on the connection.
	watcher.Wait()
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("%w: %w", ctx.Err(), err)
	}
	return err
}

// indexQuery describes the index schema.name in one round trip: its table,
// validity, uniqueness, method, definition, predicate, key columns and their
// sort options, and anything mcpai_postgres_index cannot express.
const indexQuery = `SELECT t.relname, i.indisvalid, i.indisunique, am.amname, pg_get_indexdef(c.oid),
  pg_get_expr(i.indpred, i.indrelid),
  ARRAY(SELECT coalesce(a.attname::text, '') FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
        LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE k.n <= i.indnkeyatts ORDER BY k.n),
  ARRAY(SELECT o FROM unnest(i.indoption::int2[]) WITH ORDINALITY AS u(o, n) WHERE u.n <= i.indnkeyatts ORDER BY u.n),
  array_remove(ARRAY[
    CASE WHEN i.indexprs IS NOT NULL THEN 'expression columns' END,
    CASE WHEN i.indnatts > i.indnkeyatts THEN 'INCLUDE columns' END,
    CASE WHEN EXISTS (SELECT 1 FROM unnest(i.indclass::oid[]) AS oc(oid) JOIN pg_opclass o ON o.oid = oc.oid WHERE NOT o.opcdefault)
      THEN 'non-default operator classes' END,
    CASE WHEN EXISTS (SELECT 1 FROM unnest(i.indkey::int2[], i.indcollation::oid[]) AS u(attnum, coll)
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = u.attnum WHERE u.coll <> a.attcollation)
      THEN 'non-default collations' END,
    CASE WHEN to_jsonb(i) ->> 'indnullsnotdistinct' = 'true' THEN 'NULLS NOT DISTINCT' END
  ], NULL)
FROM pg_class c
JOIN pg_namespace ns ON ns.oid = c.relnamespace
JOIN pg_index i ON i.indexrelid = c.oid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_am am ON am.oid = c.relam
WHERE ns.nspname = $1 AND c.relname = $2`

// lookupIndex returns what the catalog says of schema.name, or nil when
// there is no such index.
func lookupIndex(ctx context.Context, conn *pgx.Conn, schemaName, name string) (*postgres.CatalogIndex, error) {
	var c postgres.CatalogIndex
	err := conn.QueryRow(ctx, indexQuery, schemaName, name).Scan(&c.Table, &c.Valid, &c.Unique, &c.Method, &c.Definition,
		&c.Predicate, &c.Columns, &c.Options, &c.Unsupported)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// serverPredicate returns ix's predicate as the server stores it
// (pg_get_expr), so two spellings can be compared: the same partial index
// is built on an empty temporary copy of the table, in a transaction that
// is rolled back.
func serverPredicate(ctx context.Context, conn *pgx.Conn, ix postgres.Index) (string, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return "", err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // nothing is kept
	probe := ix
	probe.Schema, probe.Table, probe.Name, probe.Unique = "pg_temp", "mcpai_index_probe", "mcpai_index_probe_idx", false
	stmt, err := probe.CreateSQL(false)
	if err != nil {
		return "", err
	}
	if _, err := tx.Exec(ctx, "CREATE TEMPORARY TABLE mcpai_index_probe (LIKE "+pgx.Identifier{ix.Schema, ix.Table}.Sanitize()+") ON COMMIT DROP"); err != nil {
		return "", err
	}
	if err := execStatement(ctx, conn, stmt); err != nil {
		return "", err
	}
	var pred string
	err = tx.QueryRow(ctx, "SELECT pg_get_expr(indpred, indrelid) FROM pg_index WHERE indexrelid = 'pg_temp.mcpai_index_probe_idx'::regclass").Scan(&pred)
	return pred, err
}
