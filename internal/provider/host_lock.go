package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
)

// lockHost takes the host lock for one change by a resource; holder (its
// type and id) is what a run left waiting is told. It waits as long as ctx
// allows, which is the resource's timeout. Without an SSH client (a server
// reached directly over TCP, or docker_host) there is no host to lock, and
// nothing is taken. Take it once per operation: the lock is not reentrant.
func lockHost(ctx context.Context, client *remote.Client, summary, holder string) (unlock func(), diags diag.Diagnostics) {
	if client == nil {
		return func() {}, nil
	}
	unlock, err := client.Lock(ctx, remote.LockOptions{Holder: holder})
	if err != nil {
		diags.Append(hostError(summary, "Taking the host lock", client, err))
		return nil, diags
	}
	return unlock, nil
}
