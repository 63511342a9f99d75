package provider

import "github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

func tfjsonpathFor(keys ...string) tfjsonpath.Path {
	p := tfjsonpath.New(keys[0])
	for _, k := range keys[1:] {
		p = p.AtMapKey(k)
	}
	return p
}
