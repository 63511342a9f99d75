package provider

import (
	"context"
	"slices"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

func TestRedactDiagnostics(t *testing.T) {
	diags := diag.Diagnostics{
		diag.NewErrorDiagnostic("Failed", "log: TOKEN=tok-1234"),
		diag.NewWarningDiagnostic("Careful", "tok-1234 seen"),
		diag.NewAttributeErrorDiagnostic(path.Root("env"), "Bad tok-1234", "detail"),
		diag.NewAttributeWarningDiagnostic(path.Root("env"), "Warn", "tok-1234"),
		diag.NewErrorDiagnostic("Untouched", "nothing secret"),
	}
	redactDiagnostics(&diags, []string{"tok-1234", ""})
	want := diag.Diagnostics{
		diag.NewErrorDiagnostic("Failed", "log: TOKEN=(sensitive value)"),
		diag.NewWarningDiagnostic("Careful", "(sensitive value) seen"),
		diag.NewAttributeErrorDiagnostic(path.Root("env"), "Bad (sensitive value)", "detail"),
		diag.NewAttributeWarningDiagnostic(path.Root("env"), "Warn", "(sensitive value)"),
		diag.NewErrorDiagnostic("Untouched", "nothing secret"),
	}
	if !diags.Equal(want) {
		t.Errorf("redactDiagnostics = %v, want %v", diags, want)
	}
}

func TestContainerSecrets(t *testing.T) {
	ctx := context.Background()
	authTypes := map[string]attr.Type{"username": types.StringType, "password": types.StringType, "server_address": types.StringType}
	m := containerModel{
		Env:          types.MapValueMust(types.StringType, map[string]attr.Value{"PLAIN": types.StringValue("not-secret")}),
		SensitiveEnv: types.MapValueMust(types.StringType, map[string]attr.Value{"A": types.StringValue("env-secret"), "B": types.StringUnknown()}),
		RegistryAuth: types.ObjectValueMust(authTypes, map[string]attr.Value{
			"username": types.StringValue("me"), "password": types.StringValue("registry-secret"), "server_address": types.StringNull(),
		}),
	}
	got := m.secrets(ctx)
	slices.Sort(got)
	if want := []string{"env-secret", "registry-secret"}; !slices.Equal(got, want) {
		t.Errorf("secrets() = %q, want %q", got, want)
	}
	empty := containerModel{SensitiveEnv: types.MapNull(types.StringType), RegistryAuth: types.ObjectNull(authTypes)}
	if got := empty.secrets(ctx); len(got) != 0 {
		t.Errorf("secrets() of a model without any = %q", got)
	}
}
