package discovery

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// Parameter types, from the values seen at a parameter's position.
const (
	TypeInteger  = "integer"
	TypeNumber   = "number"
	TypeUUID     = "uuid"
	TypeHex      = "hex"
	TypeDate     = "date"
	TypeDateTime = "date-time"
	TypeEmail    = "email"
	TypeIP       = "ip"
	// TypeID is an opaque id: prefixed (cus_…), a key (PROJ-123), a code in
	// capitals, a long token, or a mix of these with integers, UUIDs or hex.
	TypeID = "id"
	// TypeString is anything else: slugs, usernames, words.
	TypeString = "string"
)

var kindTypes = [numKinds]string{
	kindWord: TypeString, kindVersion: TypeString, kindMixed: TypeString, kindOther: TypeString, kindSlug: TypeString,
	kindInteger: TypeInteger, kindNumber: TypeNumber, kindUUID: TypeUUID, kindHex: TypeHex,
	kindDate: TypeDate, kindDateTime: TypeDateTime, kindEmail: TypeEmail, kindIP: TypeIP,
	kindPrefixedID: TypeID, kindKey: TypeID, kindCode: TypeID, kindToken: TypeID, kindLong: TypeString,
}

// typeOf returns the type of a parameter whose values had these kinds: the
// type of 95% of them, else the narrowest type covering them all.
func typeOf(kinds *[numKinds]int64) string {
	byType := map[string]int64{}
	var total int64
	for k, n := range kinds {
		if n > 0 {
			byType[kindTypes[k]] += n
			total += n
		}
	}
	if total == 0 {
		return TypeString
	}
	for t, n := range byType {
		if n*100 >= total*95 {
			return t
		}
	}
	only := func(types ...string) bool {
		for t := range byType {
			found := false
			for _, u := range types {
				found = found || t == u
			}
			if !found {
				return false
			}
		}
		return true
	}
	switch {
	case only(TypeInteger, TypeNumber):
		return TypeNumber
	case only(TypeInteger, TypeHex):
		return TypeHex
	case only(TypeInteger, TypeUUID, TypeHex, TypeID):
		return TypeID
	}
	return TypeString
}

// paramName names a parameter: after a word, after that word in the
// singular ("/users/{userId}", "/repos/{repo}"), else after its type.
func paramName(parent string, parentIsWord bool, typ string) string {
	if parentIsWord {
		if base := camel(singular(parent)); base != "" {
			switch typ {
			case TypeInteger, TypeNumber, TypeUUID, TypeHex, TypeID:
				return base + "Id"
			case TypeString:
				return base
			}
		}
	}
	switch typ {
	case TypeInteger, TypeID:
		return "id"
	case TypeHex:
		return "hash"
	case TypeDateTime:
		return "datetime"
	case TypeString:
		return "slug"
	}
	return typ
}

// singular returns w with its last word in the singular, as far as a few
// English rules go.
func singular(w string) string {
	if !isPlural(w) {
		return w
	}
	lower := strings.ToLower(w)
	switch {
	case strings.HasSuffix(lower, "ies") && len(w) > 4:
		return w[:len(w)-3] + "y"
	case strings.HasSuffix(lower, "sses"), strings.HasSuffix(lower, "shes"),
		strings.HasSuffix(lower, "ches"), strings.HasSuffix(lower, "xes"):
		return w[:len(w)-2]
	}
	return w[:len(w)-1]
}

// camel joins the words of w ("payment_intent", "check-run") in lower camel
// case, keeping letters and digits only.
func camel(w string) string {
	var b strings.Builder
	upperNext := false
	for i := range len(w) {
		c := w[i]
		switch {
		case isLetter(c) || isDigit(c) && b.Len() > 0:
			if b.Len() == 0 && isUpper(c) {
				c += 'a' - 'A'
			} else if upperNext && c >= 'a' && c <= 'z' {
				c -= 'a' - 'A'
			}
			upperNext = false
			b.WriteByte(c)
		default:
			upperNext = b.Len() > 0
		}
	}
	return b.String()
}

// uniqueName returns name, or name with a number when used already.
func uniqueName(name string, used map[string]bool) string {
	n := name
	for i := 2; used[n]; i++ {
		n = name + strconv.Itoa(i)
	}
	used[n] = true
	return n
}

// renderLearned returns the template of the learned path (root first) and
// its parameters.
func renderLearned(path []*node) (string, []Param) {
	if len(path) <= 1 {
		return "/", nil
	}
	var b strings.Builder
	var params []Param
	var used map[string]bool
	for i, n := range path[1:] {
		b.WriteByte('/')
		if !n.isParam {
			b.WriteString(n.seg)
			continue
		}
		parent := path[i] // the node before n
		typ := typeOf(&n.kinds)
		if used == nil {
			used = map[string]bool{}
		}
		name := uniqueName(paramName(parent.seg, !parent.isParam && parent.kind == kindWord, typ), used)
		params = append(params, Param{Name: name, Index: i, Type: typ})
		b.WriteByte('{')
		b.WriteString(name)
		b.WriteByte('}')
	}
	return b.String(), params
}

// NormalizeTemplate returns template with every parameter written "{}", so
// that templates differing only in parameter names compare equal.
func NormalizeTemplate(template string) string {
	if !strings.Contains(template, "{") {
		return template
	}
	var b strings.Builder
	for i := 0; i < len(template); i++ {
		c := template[i]
		if c == '{' {
			if j := strings.IndexByte(template[i:], '}'); j > 0 {
				b.WriteString("{}")
				i += j
				continue
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

// endpointID returns the stable, URL-safe id of k: 20 hex digits of a
// SHA-256 over the key with the template normalised, so renaming a
// parameter keeps the id.
func endpointID(k Key) string {
	h := sha256.New()
	for _, s := range []string{k.App, k.Host, k.Method, NormalizeTemplate(k.Template)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:10])
}
