package provider

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
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

	"github.com/mcpai/terraform-provider-mcpai/internal/postgres"
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

func (m *postgresIndexModel) timeoutsBlock() timeouts.Value { return m.Timeouts }

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
	ctx, cancel, ok := begin(ctx, req.Plan, &plan, timeouts.Value.Create, defaultApplyTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}
	ix := indexFrom(ctx, plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
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
	ctx, cancel, ok := begin(ctx, req.State, &state, timeouts.Value.Read, defaultReadTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}
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
	ctx, cancel, ok := begin(ctx, req.State, &state, timeouts.Value.Delete, defaultApplyTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}
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
