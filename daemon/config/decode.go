package config

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxNodes bounds the work one file may cause: aliases can make a small file
// expand to billions of nodes.
const maxNodes = 100_000

// decoder walks the YAML node tree into the Config structs by their
// mapstructure tags. It is strict (unknown and duplicate keys are problems),
// keeps the exact text of scalars for string fields (a password 0123 stays
// "0123"), records which keys were written so that "absent" and "0" differ,
// and never quotes a value given under a secret key.
type decoder struct {
	probs Problems
	set   map[string]bool // key paths given a non-null value
	bad   map[string]bool // key paths whose value could not be decoded
	nodes int
}

func newDecoder() *decoder {
	return &decoder{set: map[string]bool{}, bad: map[string]bool{}}
}

func (d *decoder) problem(path, format string, args ...any) {
	d.bad[path] = true
	d.probs = append(d.probs, path+": "+fmt.Sprintf(format, args...))
}

// secretKeys are the keys whose values must never be quoted.
func isSecretKey(key string) bool {
	switch key {
	case "password", "key_password", "private_key", "token", "cashier_password", "certificate":
		return true
	}
	return false
}

func lastKey(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		path = path[i+1:]
	}
	if i := strings.IndexByte(path, '['); i >= 0 {
		path = path[:i]
	}
	return path
}

// quote shows a bad value in a message, unless the key holds a secret.
func quote(path string, n *yaml.Node) string {
	if isSecretKey(lastKey(path)) {
		return "a value"
	}
	v := n.Value
	if len(v) > 60 {
		v = v[:60] + "…"
	}
	return strconv.Quote(v)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!int", "!!float":
			return "a number"
		case "!!bool":
			return "true/false"
		}
		return "text"
	}
	return "something else"
}

// deref follows aliases and counts nodes against maxNodes. It returns nil
// once the budget is spent.
func (d *decoder) deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	if n == nil || n.Kind == yaml.AliasNode {
		return nil
	}
	d.nodes++
	if d.nodes > maxNodes {
		return nil
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// pair is one key of a mapping with its value.
type pair struct {
	key   string
	value *yaml.Node
}

// pairs lists a mapping's keys in file order, applying YAML merge keys
// ("<<: *defaults"), where keys written out win over merged ones. Duplicate
// and non-text keys are problems.
func (d *decoder) pairs(path string, n *yaml.Node, depth int) []pair {
	var own, merged []pair
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := d.deref(n.Content[i])
		v := n.Content[i+1]
		if k == nil {
			d.problem(join(path, "?"), "the file is too large or too deeply aliased")
			return nil
		}
		if k.Kind != yaml.ScalarNode {
			d.problem(join(path, "?"), "a key must be plain text, not %s (line %d)", kindName(k), k.Line)
			continue
		}
		if k.ShortTag() == "!!merge" && depth < 10 {
			merged = append(merged, d.mergePairs(path, v, depth)...)
			continue
		}
		if seen[k.Value] {
			d.problem(join(path, k.Value), "written twice (line %d); keep one", k.Line)
			continue
		}
		seen[k.Value] = true
		own = append(own, pair{k.Value, v})
	}
	out := own
	for _, p := range merged {
		if !seen[p.key] {
			seen[p.key] = true
			out = append(out, p)
		}
	}
	return out
}

func (d *decoder) mergePairs(path string, v *yaml.Node, depth int) []pair {
	v = d.deref(v)
	if v == nil {
		return nil
	}
	switch v.Kind {
	case yaml.MappingNode:
		return d.pairs(path, v, depth+1)
	case yaml.SequenceNode:
		var out []pair
		seen := map[string]bool{}
		for _, m := range v.Content {
			m = d.deref(m)
			if m == nil || m.Kind != yaml.MappingNode {
				d.problem(join(path, "<<"), "a merge key takes a mapping or a list of mappings")
				continue
			}
			// Earlier mappings in the list win, as YAML specifies.
			for _, p := range d.pairs(path, m, depth+1) {
				if !seen[p.key] {
					seen[p.key] = true
					out = append(out, p)
				}
			}
		}
		return out
	}
	d.problem(join(path, "<<"), "a merge key takes a mapping or a list of mappings")
	return nil
}

// decode stores node n at path into v.
func (d *decoder) decode(path string, n *yaml.Node, v reflect.Value) {
	n = d.deref(n)
	if n == nil {
		d.problem(path, "the file is too large or too deeply aliased")
		return
	}
	if isNull(n) {
		return // absent and null are the same: the default applies
	}
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(path, n, v)
	case reflect.Slice:
		d.decodeSlice(path, n, v)
	case reflect.Map:
		d.decodeMap(path, n, v)
	case reflect.Interface:
		var x any
		if err := n.Decode(&x); err != nil {
			d.problem(path, "cannot be read (line %d): %s", n.Line, yamlErr(err))
			return
		}
		v.Set(reflect.ValueOf(&x).Elem())
	default:
		d.decodeScalar(path, n, v)
	}
	if !d.bad[path] {
		d.set[path] = true
	}
}

func (d *decoder) decodeStruct(path string, n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.problem(pathOrTop(path), "must be a mapping of keys, not %s (line %d)", kindName(n), n.Line)
		return
	}
	fields := map[string]int{}
	var names []string
	t := v.Type()
	for i := range t.NumField() {
		tag := t.Field(i).Tag.Get("mapstructure")
		if tag == "" || tag == "-" {
			continue
		}
		fields[tag] = i
		names = append(names, tag)
	}
	for _, p := range d.pairs(path, n, 0) {
		i, ok := fields[p.key]
		if !ok {
			d.problem(join(path, p.key), "unknown key; %s", suggest(p.key, names))
			continue
		}
		d.decode(join(path, p.key), p.value, v.Field(i))
	}
}

func pathOrTop(path string) string {
	if path == "" {
		return "(top level)"
	}
	return path
}

func (d *decoder) decodeSlice(path string, n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.SequenceNode {
		d.problem(path, "must be a list, like [a, b], not %s (line %d)", kindName(n), n.Line)
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, e := range n.Content {
		d.decode(fmt.Sprintf("%s[%d]", path, i), e, s.Index(i))
	}
	v.Set(s)
}

func (d *decoder) decodeMap(path string, n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.problem(path, "must be a mapping, like {a: 1}, not %s (line %d)", kindName(n), n.Line)
		return
	}
	m := reflect.MakeMap(v.Type())
	for _, p := range d.pairs(path, n, 0) {
		e := reflect.New(v.Type().Elem()).Elem()
		kp := join(path, p.key)
		d.decode(kp, p.value, e)
		if !d.bad[kp] {
			m.SetMapIndex(reflect.ValueOf(p.key), e)
		}
	}
	v.Set(m)
}

func (d *decoder) decodeScalar(path string, n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.ScalarNode {
		d.problem(path, "must be a single value, not %s (line %d)", kindName(n), n.Line)
		return
	}
	tag := n.ShortTag()
	switch v.Kind() {
	case reflect.String:
		// The text as written: an unquoted 0123 stays "0123".
		v.SetString(n.Value)
	case reflect.Bool:
		var b bool
		if tag != "!!bool" || n.Decode(&b) != nil {
			d.problem(path, "must be true or false, not %s", quote(path, n))
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		var i int64
		if tag != "!!int" || n.Decode(&i) != nil {
			d.problem(path, "must be a whole number, not %s", quote(path, n))
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		var f float64
		if (tag != "!!int" && tag != "!!float") || n.Decode(&f) != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.problem(path, "must be a number, not %s", quote(path, n))
			return
		}
		v.SetFloat(f)
	default:
		d.problem(path, "cannot be read (line %d)", n.Line)
	}
}

// suggest names the closest known key when the unknown one looks like a
// typo, else points to the example file.
func suggest(key string, known []string) string {
	best, bestD := "", 3
	sorted := append([]string(nil), known...)
	sort.Strings(sorted)
	for _, k := range sorted {
		if dist := editDistance(key, k); dist < bestD {
			best, bestD = k, dist
		}
	}
	if best == "" {
		return "check its spelling against config.example.yaml"
	}
	return fmt.Sprintf("did you mean %q?", best)
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
