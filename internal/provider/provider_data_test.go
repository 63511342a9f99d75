package provider

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// beginTestModel is the smallest model begin serves: a timeouts block.
type beginTestModel struct {
	Timeouts timeouts.Value `tfsdk:"timeouts"`
}

func (m *beginTestModel) timeoutsBlock() timeouts.Value { return m.Timeouts }

// beginTestPlan is a plan of beginTestModel whose timeouts block sets
// create (nil: unset).
func beginTestPlan(t *testing.T, create any) tfsdk.Plan {
	t.Helper()
	ctx := context.Background()
	s := schema.Schema{Attributes: map[string]schema.Attribute{
		"timeouts": timeouts.Attributes(ctx, timeouts.Opts{Create: true, Read: true, Update: true, Delete: true}),
	}}
	objType, ok := s.Type().TerraformType(ctx).(tftypes.Object)
	if !ok {
		t.Fatalf("schema type is %T", s.Type().TerraformType(ctx))
	}
	blockType, ok := objType.AttributeTypes["timeouts"].(tftypes.Object)
	if !ok {
		t.Fatalf("timeouts type is %T", objType.AttributeTypes["timeouts"])
	}
	vals := map[string]tftypes.Value{}
	for k := range blockType.AttributeTypes {
		vals[k] = tftypes.NewValue(tftypes.String, nil)
	}
	vals["create"] = tftypes.NewValue(tftypes.String, create)
	return tfsdk.Plan{Schema: s, Raw: tftypes.NewValue(objType, map[string]tftypes.Value{"timeouts": tftypes.NewValue(blockType, vals)})}
}

func TestBegin(t *testing.T) {
	for _, tc := range []struct {
		name    string
		create  any
		before  diag.Diagnostics
		op      crudOp
		want    time.Duration // the deadline's distance; 0: none expected
		wantErr string
	}{
		{name: "unset: the default", create: nil, op: timeouts.Value.Create, want: 7 * time.Minute},
		{name: "set: the block's value", create: "90s", op: timeouts.Value.Create, want: 90 * time.Second},
		{name: "another operation's value is not used", create: "90s", op: timeouts.Value.Read, want: 7 * time.Minute},
		{name: "not a duration", create: "soon", op: timeouts.Value.Create, wantErr: "Timeout Cannot Be Parsed"},
		{name: "an error appended before", create: "90s", op: timeouts.Value.Create,
			before: diag.Diagnostics{diag.NewErrorDiagnostic("Earlier Error", "from the caller")}, wantErr: "Earlier Error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			diags := tc.before
			var m beginTestModel
			start := time.Now()
			ctx, cancel, ok := begin(context.Background(), beginTestPlan(t, tc.create), &m, tc.op, 7*time.Minute, &diags)
			if cancel == nil {
				t.Fatal("cancel is nil")
			}
			defer cancel()
			deadline, hasDeadline := ctx.Deadline()
			if tc.wantErr != "" {
				if ok || !diags.HasError() || !strings.Contains(diags.Errors()[0].Summary(), tc.wantErr) {
					t.Fatalf("ok = %v, diags = %v; want an error %q", ok, diags, tc.wantErr)
				}
				if hasDeadline {
					t.Errorf("ctx has a deadline after an error")
				}
				return
			}
			if !ok || diags.HasError() {
				t.Fatalf("ok = %v, diags = %v", ok, diags)
			}
			if got := deadline.Sub(start); !hasDeadline || got < tc.want || got > tc.want+time.Minute {
				t.Fatalf("deadline in %v (set: %v), want %v", got, hasDeadline, tc.want)
			}
			if m.Timeouts.IsNull() {
				t.Errorf("the model was not read")
			}
		})
	}
}
