package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/mcpai/terraform-provider-mcpai/internal/redact"
)

// redactDiagnostics replaces every secret in the summaries and details of
// diags, keeping each diagnostic's severity and attribute path. Text that a
// host or a container wrote (logs, command output) can echo a secret the
// provider handed it; this is the last stop before the user sees it.
func redactDiagnostics(diags *diag.Diagnostics, secrets []string) {
	if len(secrets) == 0 {
		return
	}
	for i, d := range *diags {
		summary, detail := redact.Values(d.Summary(), secrets...), redact.Values(d.Detail(), secrets...)
		if summary == d.Summary() && detail == d.Detail() {
			continue
		}
		p, hasPath := d.(diag.DiagnosticWithPath)
		switch {
		case hasPath && d.Severity() == diag.SeverityWarning:
			(*diags)[i] = diag.NewAttributeWarningDiagnostic(p.Path(), summary, detail)
		case hasPath:
			(*diags)[i] = diag.NewAttributeErrorDiagnostic(p.Path(), summary, detail)
		case d.Severity() == diag.SeverityWarning:
			(*diags)[i] = diag.NewWarningDiagnostic(summary, detail)
		default:
			(*diags)[i] = diag.NewErrorDiagnostic(summary, detail)
		}
	}
}

// maskLogs hides secrets in everything logged through the returned
// context, messages and structured fields alike.
func maskLogs(ctx context.Context, secrets []string) context.Context {
	var worth []string
	for _, s := range secrets {
		// An empty string would match between every byte.
		if len(s) >= redact.MinLength {
			worth = append(worth, s)
		}
	}
	if len(worth) == 0 {
		return ctx
	}
	ctx = tflog.MaskMessageStrings(ctx, worth...)
	return tflog.MaskAllFieldValuesStrings(ctx, worth...)
}
