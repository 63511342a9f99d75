// Package moduledocs documents the Terraform modules under modules/: it reads
// their variables and outputs, renders the inputs and outputs tables and the
// stack diagram into each README between marker comments, and turns each
// README into a tfplugindocs guide template. It knows nothing of the file
// system; tools/moduledocs does the reading and writing.
package moduledocs

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Module is what a README documents of a module's interface, and the
// modules of this repository it calls (by a "../<name>" source).
type Module struct {
	Name      string
	Variables []Variable
	Outputs   []Output
	Calls     []string
}

// Variable is one input. Type and Default are the nodes of the type
// constraint and of the default value (Default is unset when Required).
type Variable struct {
	Name        string
	Description string
	Type        node
	Default     node
	Required    bool
	Sensitive   bool
}

// Output is one output.
type Output struct {
	Name        string
	Description string
	Sensitive   bool
}

// Parse reads the variable and output blocks of a module's .tf files (file
// name to content), in file-name order and in source order within a file.
// Every variable needs a description and a type, every output a
// description: the README is made from them.
func Parse(name string, files map[string][]byte) (Module, error) {
	m := Module{Name: name}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, fn := range names {
		f, diags := hclsyntax.ParseConfig(files[fn], fn, hcl.InitialPos)
		if diags.HasErrors() {
			return Module{}, diagError(diags)
		}
		for _, b := range f.Body.(*hclsyntax.Body).Blocks {
			if len(b.Labels) != 1 {
				continue
			}
			switch b.Type {
			case "variable":
				v, err := parseVariable(b)
				if err != nil {
					return Module{}, err
				}
				m.Variables = append(m.Variables, v)
			case "output":
				o, err := parseOutput(b)
				if err != nil {
					return Module{}, err
				}
				m.Outputs = append(m.Outputs, o)
			case "module":
				if called := sibling(b); called != "" && !slices.Contains(m.Calls, called) {
					m.Calls = append(m.Calls, called)
				}
			}
		}
	}
	return m, nil
}

func parseVariable(b *hclsyntax.Block) (Variable, error) {
	v := Variable{Name: b.Labels[0]}
	var err error
	if v.Description, err = description(b); err != nil {
		return Variable{}, err
	}
	typ, ok := b.Body.Attributes["type"]
	if !ok {
		return Variable{}, fmt.Errorf("%s: variable %q has no type: give it one (string, number, object({...}), ...)", b.DefRange(), v.Name)
	}
	if v.Type, err = typeNode(typ.Expr); err != nil {
		return Variable{}, fmt.Errorf("variable %q: type: %w", v.Name, err)
	}
	if def, ok := b.Body.Attributes["default"]; ok {
		if v.Default, err = valueNode(def.Expr); err != nil {
			return Variable{}, fmt.Errorf("variable %q: default: %w", v.Name, err)
		}
	} else {
		v.Required = true
	}
	if v.Sensitive, err = boolAttr(b, "sensitive"); err != nil {
		return Variable{}, err
	}
	return v, nil
}

// sibling returns the name of the module of this repository that a module
// block calls, or "" for any other source.
func sibling(b *hclsyntax.Block) string {
	attr, ok := b.Body.Attributes["source"]
	if !ok {
		return ""
	}
	v, diags := attr.Expr.Value(nil)
	if diags.HasErrors() || v.IsNull() || !v.Type().Equals(cty.String) {
		return ""
	}
	src := v.AsString()
	if !strings.HasPrefix(src, "../") || strings.Count(src, "/") != 1 {
		return ""
	}
	return strings.TrimPrefix(src, "../")
}

func parseOutput(b *hclsyntax.Block) (Output, error) {
	o := Output{Name: b.Labels[0]}
	var err error
	if o.Description, err = description(b); err != nil {
		return Output{}, err
	}
	if o.Sensitive, err = boolAttr(b, "sensitive"); err != nil {
		return Output{}, err
	}
	return o, nil
}

func description(b *hclsyntax.Block) (string, error) {
	attr, ok := b.Body.Attributes["description"]
	if !ok {
		return "", fmt.Errorf("%s: %s %q has no description: add one, the module's README is made from it", b.DefRange(), b.Type, b.Labels[0])
	}
	v, diags := attr.Expr.Value(nil)
	if diags.HasErrors() {
		return "", diagError(diags)
	}
	if v.IsNull() || !v.Type().Equals(cty.String) || v.AsString() == "" {
		return "", fmt.Errorf("%s: %s %q: description must be a non-empty string", attr.SrcRange, b.Type, b.Labels[0])
	}
	return v.AsString(), nil
}

func boolAttr(b *hclsyntax.Block, name string) (bool, error) {
	attr, ok := b.Body.Attributes[name]
	if !ok {
		return false, nil
	}
	v, diags := attr.Expr.Value(nil)
	if diags.HasErrors() {
		return false, diagError(diags)
	}
	if v.IsNull() || !v.Type().Equals(cty.Bool) {
		return false, fmt.Errorf("%s: %s must be true or false", attr.SrcRange, name)
	}
	return v.True(), nil
}
