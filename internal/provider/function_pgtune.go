package provider

import (
	"context"
	"fmt"
	"maps"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/mcpai/terraform-provider-mcpai/internal/pgtune"
)

var _ function.Function = (*pgtuneFunction)(nil)

type pgtuneFunction struct{}

func newPgtuneFunction() function.Function { return &pgtuneFunction{} }

// pgtuneAttributes are the argument's attributes; numeric ones take a
// number, the others a string.
var pgtuneAttributes = map[string]bool{
	pgtune.FieldDBVersion:     true,
	pgtune.FieldOSType:        false,
	pgtune.FieldDBType:        false,
	pgtune.FieldTotalMemory:   false,
	pgtune.FieldCPUNum:        true,
	pgtune.FieldConnectionNum: true,
	pgtune.FieldHDType:        false,
	pgtune.FieldDBSize:        false,
}

func (f *pgtuneFunction) Metadata(_ context.Context, _ function.MetadataRequest, resp *function.MetadataResponse) {
	resp.Name = "pgtune"
}

func (f *pgtuneFunction) Definition(_ context.Context, _ function.DefinitionRequest, resp *function.DefinitionResponse) {
	resp.Definition = function.Definition{
		Summary: "PostgreSQL settings as PGTune recommends them",
		MarkdownDescription: "Returns the PostgreSQL settings that the [PGTune](https://pgtune.leopard.in.ua) calculator " +
			"(2026-04 release) gives for the same inputs, value for value and string for string, as a map from " +
			"parameter name to value (`shared_buffers = \"4GB\"`, `work_mem = \"20164kB\"`, `random_page_cost = \"1.1\"`). " +
			"Settings PGTune leaves out for the inputs are absent from the map: `effective_io_concurrency` off Linux, " +
			"`jit` before 12 and for `dw` and `desktop`, the parallel worker settings below 4 CPUs, `io_method` before 18, and so on.",
		Parameters: []function.Parameter{
			// Dynamic rather than an object type: Terraform requires every
			// attribute of an object parameter to be written
			// (terraform-plugin-framework#955), and PGTune's form is mostly
			// defaults.
			function.DynamicParameter{
				Name: "input",
				MarkdownDescription: "An object with PGTune's form; leave out an attribute, or set it to `null`, for its default. " +
					"Other attributes are an error.\n\n" +
					"   - `db_version` (Number): PostgreSQL major version, 10 to 18. Required.\n" +
					"   - `total_memory` (String): memory PostgreSQL may use, a whole number and `MB`, `GB` or `TB` (`\"16GB\"`), from `512MB` to 999999 of the unit. Required.\n" +
					"   - `os_type` (String): `linux` (default), `windows` or `mac`.\n" +
					"   - `db_type` (String): `web` (default), `oltp`, `dw`, `desktop` or `mixed`.\n" +
					"   - `cpu_num` (Number): CPUs, 1 to 999999; 0 or absent when unknown (then no parallel, autovacuum or I/O worker settings).\n" +
					"   - `connection_num` (Number): `max_connections`, 20 to 999999; 0 or absent for the `db_type`'s default (web 200, oltp 300, dw 40, desktop 20, mixed 100).\n" +
					"   - `hd_type` (String): data storage, `ssd` (default), `hdd`, `san` or `nvme`.\n" +
					"   - `db_size` (String): data size against memory, `less_ram`, `mid_ram` (default) or `greater_ram`.",
			},
		},
		Return: function.MapReturn{ElementType: types.StringType},
	}
}

func (f *pgtuneFunction) Run(ctx context.Context, req function.RunRequest, resp *function.RunResponse) {
	var arg types.Dynamic
	if resp.Error = req.Arguments.Get(ctx, &arg); resp.Error != nil {
		return
	}
	in, err := pgtuneInput(arg)
	if err == nil {
		var settings map[string]string
		if settings, err = pgtune.Compute(in); err == nil {
			resp.Error = resp.Result.Set(ctx, settings)
			return
		}
	}
	resp.Error = function.NewArgumentFuncError(0, err.Error())
}

// pgtuneInput reads the argument, an object (or a map), into PGTune's form.
func pgtuneInput(arg types.Dynamic) (pgtune.Input, error) {
	var attrs map[string]attr.Value
	switch v := arg.UnderlyingValue().(type) {
	case basetypes.ObjectValue:
		attrs = v.Attributes()
	case basetypes.MapValue:
		attrs = v.Elements()
	default:
		return pgtune.Input{}, fmt.Errorf(`input: must be an object such as { db_version = 17, total_memory = "16GB" }; got %s`, arg)
	}
	allowed := slices.Sorted(maps.Keys(pgtuneAttributes))
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		if _, ok := pgtuneAttributes[name]; !ok {
			return pgtune.Input{}, fmt.Errorf("%s: not an attribute of the input; they are %s", name, strings.Join(allowed, ", "))
		}
	}
	r := attrReader{attrs: attrs}
	in := pgtune.Input{
		DBVersion:     r.number(pgtune.FieldDBVersion),
		OSType:        r.string(pgtune.FieldOSType),
		DBType:        r.string(pgtune.FieldDBType),
		TotalMemory:   r.string(pgtune.FieldTotalMemory),
		CPUNum:        r.number(pgtune.FieldCPUNum),
		ConnectionNum: r.number(pgtune.FieldConnectionNum),
		HDType:        r.string(pgtune.FieldHDType),
		DBSize:        r.string(pgtune.FieldDBSize),
	}
	return in, r.err
}

// attrReader reads attributes of the argument, keeping the first error.
// An absent or null attribute reads as the zero value, PGTune's "not given".
type attrReader struct {
	attrs map[string]attr.Value
	err   error
}

func (r *attrReader) value(name string) attr.Value {
	v := r.attrs[name]
	// Elements of a map of any type arrive wrapped in a dynamic value.
	if d, ok := v.(basetypes.DynamicValue); ok {
		v = d.UnderlyingValue()
	}
	if r.err != nil || v == nil || v.IsNull() {
		return nil
	}
	return v
}

func (r *attrReader) string(name string) string {
	switch v := r.value(name).(type) {
	case nil:
		return ""
	case basetypes.StringValue:
		return v.ValueString()
	default:
		r.err = fmt.Errorf("%s: must be a string; got %s", name, v)
		return ""
	}
}

// number reads a whole number, given as a number or a string of digits
// (as a map(string) holds it). Values beyond int32 are clamped: PGTune
// rejects them all the same, and a 32-bit build cannot wrap them around.
func (r *attrReader) number(name string) int {
	var n int64
	switch v := r.value(name).(type) {
	case nil:
		return 0
	case basetypes.NumberValue:
		f := v.ValueBigFloat()
		if !f.IsInt() {
			r.err = fmt.Errorf("%s: must be a whole number; got %s", name, f.Text('g', -1))
			return 0
		}
		var acc big.Accuracy
		if n, acc = f.Int64(); acc != big.Exact {
			n = math.MaxInt64
			if f.Sign() < 0 {
				n = math.MinInt64
			}
		}
	case basetypes.StringValue:
		var err error
		if n, err = strconv.ParseInt(strings.TrimSpace(v.ValueString()), 10, 64); err != nil {
			r.err = fmt.Errorf("%s: must be a whole number; got %q", name, v.ValueString())
			return 0
		}
	default:
		r.err = fmt.Errorf("%s: must be a number; got %s", name, v)
		return 0
	}
	return int(max(min(n, math.MaxInt32), math.MinInt32))
}
