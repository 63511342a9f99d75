// Package moduletest tests the Terraform modules under modules/ through the
// terraform CLI and the provider binary, as users run them. TestModules runs
// every module's own `terraform test` files (modules/<name>/tests), which
// plan against a mocked provider and need no host; the TestAcc tests apply
// the modules to the sandbox hosts (TF_ACC=1) for what only a real host
// shows.
package moduletest
