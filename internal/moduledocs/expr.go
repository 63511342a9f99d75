package moduledocs

import (
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// node is a type constraint or a value, kept as a small tree so that one
// walk of the expression can be printed on one line for a table cell, on
// several for a code block, or abbreviated.
type node struct {
	atom        string // a leaf: a keyword or a literal
	open, close string // brackets around items, e.g. "object({" and "})"
	items       []item
	block       bool // items are "key = value" lines (objects, maps)
}

type item struct {
	key string // set only in blocks
	val node
}

func atom(s string) node { return node{atom: s} }

func (n node) isAtom() bool { return n.open == "" }

// flat prints n on one line: object({ a = string, b = optional(number, 1) }).
func (n node) flat() string {
	if n.isAtom() {
		return n.atom
	}
	parts := make([]string, len(n.items))
	for i, it := range n.items {
		parts[i] = it.render(node.flat)
	}
	if n.block && len(parts) > 0 {
		return n.open + " " + strings.Join(parts, ", ") + " " + n.close
	}
	return n.open + strings.Join(parts, ", ") + n.close
}

// multi prints n with one line per object attribute, as HCL writes it; the
// caller aligns it with hclwrite.Format.
func (n node) multi() string {
	if n.isAtom() {
		return n.atom
	}
	if n.block {
		if len(n.items) == 0 {
			return n.open + n.close
		}
		var b strings.Builder
		b.WriteString(n.open + "\n")
		for _, it := range n.items {
			b.WriteString(it.render(node.multi) + "\n")
		}
		return b.String() + n.close
	}
	if n.open == "[" && n.hasBlock() {
		// A list of objects: one element per line.
		var b strings.Builder
		b.WriteString("[\n")
		for _, it := range n.items {
			b.WriteString(it.val.multi() + ",\n")
		}
		return b.String() + "]"
	}
	parts := make([]string, len(n.items))
	for i, it := range n.items {
		parts[i] = it.render(node.multi)
	}
	return n.open + strings.Join(parts, ", ") + n.close
}

// short prints n on one line with the contents of non-empty objects
// elided: map(object({...})).
func (n node) short() string {
	if n.isAtom() {
		return n.atom
	}
	if n.block {
		if len(n.items) == 0 {
			return n.open + n.close
		}
		return n.open + "..." + n.close
	}
	parts := make([]string, len(n.items))
	for i, it := range n.items {
		parts[i] = it.val.short()
	}
	return n.open + strings.Join(parts, ", ") + n.close
}

func (n node) hasBlock() bool {
	if n.block && len(n.items) > 0 {
		return true
	}
	for _, it := range n.items {
		if it.val.hasBlock() {
			return true
		}
	}
	return false
}

func (it item) render(f func(node) string) string {
	if it.key == "" {
		return f(it.val)
	}
	return it.key + " = " + f(it.val)
}

// formatAttr prints name = n as terraform fmt would, over several lines
// where n holds objects.
func formatAttr(name string, n node) string {
	return strings.TrimSpace(string(hclwrite.Format([]byte(name + " = " + n.multi() + "\n"))))
}

// typeNode checks expr as a Terraform type constraint (with optional
// attributes and their defaults) and returns it as written, attributes in
// source order.
func typeNode(expr hclsyntax.Expression) (node, error) {
	if _, _, diags := typeexpr.TypeConstraintWithDefaults(expr); diags.HasErrors() {
		return node{}, diagError(diags)
	}
	return typeTree(expr)
}

func typeTree(expr hclsyntax.Expression) (node, error) {
	switch e := expr.(type) {
	case *hclsyntax.ScopeTraversalExpr:
		return atom(e.Traversal.RootName()), nil
	case *hclsyntax.FunctionCallExpr:
		switch e.Name {
		case "object":
			obj, ok := e.Args[0].(*hclsyntax.ObjectConsExpr)
			if !ok {
				return node{}, fmt.Errorf("%s: object() takes an object of attribute types", e.Range())
			}
			n := node{open: "object({", close: "})", block: true}
			for _, it := range obj.Items {
				key, err := keyString(it.KeyExpr)
				if err != nil {
					return node{}, err
				}
				val, err := typeTree(it.ValueExpr)
				if err != nil {
					return node{}, err
				}
				n.items = append(n.items, item{key: key, val: val})
			}
			return n, nil
		case "tuple":
			tup, ok := e.Args[0].(*hclsyntax.TupleConsExpr)
			if !ok {
				return node{}, fmt.Errorf("%s: tuple() takes a list of element types", e.Range())
			}
			n := node{open: "tuple([", close: "])"}
			for _, el := range tup.Exprs {
				val, err := typeTree(el)
				if err != nil {
					return node{}, err
				}
				n.items = append(n.items, item{val: val})
			}
			return n, nil
		default: // list, set, map, optional: a type, and optional's default
			n := node{open: e.Name + "(", close: ")"}
			for i, arg := range e.Args {
				walk := typeTree
				if i == 1 {
					walk = valueNode
				}
				val, err := walk(arg)
				if err != nil {
					return node{}, err
				}
				n.items = append(n.items, item{val: val})
			}
			return n, nil
		}
	}
	return node{}, fmt.Errorf("%s: not a type constraint", expr.Range())
}

// valueNode evaluates a literal (a default) and returns it with object
// attributes in source order where the source spells them out.
func valueNode(expr hclsyntax.Expression) (node, error) {
	switch e := expr.(type) {
	case *hclsyntax.ObjectConsExpr:
		n := node{open: "{", close: "}", block: true}
		for _, it := range e.Items {
			key, err := keyString(it.KeyExpr)
			if err != nil {
				return node{}, err
			}
			val, err := valueNode(it.ValueExpr)
			if err != nil {
				return node{}, err
			}
			n.items = append(n.items, item{key: key, val: val})
		}
		return n, nil
	case *hclsyntax.TupleConsExpr:
		n := node{open: "[", close: "]"}
		for _, el := range e.Exprs {
			val, err := valueNode(el)
			if err != nil {
				return node{}, err
			}
			n.items = append(n.items, item{val: val})
		}
		return n, nil
	}
	v, diags := expr.Value(nil)
	if diags.HasErrors() {
		return node{}, diagError(diags)
	}
	return ctyNode(v), nil
}

func ctyNode(v cty.Value) node {
	switch {
	case v.IsNull():
		return atom("null")
	case !v.IsKnown():
		return atom("(known after apply)")
	}
	ty := v.Type()
	switch {
	case ty.IsObjectType() || ty.IsMapType():
		n := node{open: "{", close: "}", block: true}
		m := v.AsValueMap()
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			n.items = append(n.items, item{key: objectKey(k), val: ctyNode(m[k])})
		}
		return n
	case ty.IsListType() || ty.IsSetType() || ty.IsTupleType():
		n := node{open: "[", close: "]"}
		for _, el := range v.AsValueSlice() {
			n.items = append(n.items, item{val: ctyNode(el)})
		}
		return n
	case ty == cty.Number:
		return atom(numberString(v.AsBigFloat()))
	}
	return atom(string(hclwrite.TokensForValue(v).Bytes()))
}

// numberString prints whole numbers without an exponent (16777216, not
// 1.6777216e+07), as they are written in Terraform.
func numberString(f *big.Float) string {
	if f.IsInt() {
		i, _ := f.Int(nil)
		return i.String()
	}
	return f.Text('g', -1)
}

func keyString(expr hclsyntax.Expression) (string, error) {
	if kw := hcl.ExprAsKeyword(expr); kw != "" {
		return kw, nil
	}
	v, diags := expr.Value(nil)
	if diags.HasErrors() {
		return "", diagError(diags)
	}
	if v.IsNull() || !v.Type().Equals(cty.String) {
		return "", fmt.Errorf("%s: an object key must be a name or a string", expr.Range())
	}
	return objectKey(v.AsString()), nil
}

// objectKey quotes a key that is not an identifier, such as a sysctl name.
func objectKey(k string) string {
	if hclsyntax.ValidIdentifier(k) {
		return k
	}
	return string(hclwrite.TokensForValue(cty.StringVal(k)).Bytes())
}

func diagError(diags hcl.Diagnostics) error {
	return fmt.Errorf("%s", diags.Error())
}
