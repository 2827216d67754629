package accesslog

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// xmlParser reads the XML presets:
//
//	<request id="$context.requestId"> <ip>…</ip> <httpMethod>…</httpMethod> <resourcePath>…</resourcePath> … </request>
//
// one root element whose children are flat name/text pairs. It is not a
// general XML parser: API Gateway substitutes values without escaping, so a
// child's text runs to its own closing tag, whatever it contains (a user
// agent with "<" included). Entities are decoded when present, for
// templates that escape values by other means.
//
// Like jsonParser, it holds the fields by value to keep them off the heap.
type xmlParser struct {
	s string
	f fields
}

// parseXML parses the element that starts at line[start] into f. Element
// and attribute names are looked up like JSON keys; the root's id attribute
// is the request id.
func parseXML(line string, start int, f *fields) error {
	p := xmlParser{s: line}
	root, i := p.name(start + 1)
	if root == "" {
		return p.malformed(i, "expected an element name")
	}
	i, empty, err := p.attributes(i, true)
	if err != nil {
		return err
	}
	for !empty {
		if i = skipSpace(p.s, i); i >= len(p.s) {
			return p.malformed(i, "")
		}
		if p.s[i] != '<' {
			return p.malformed(i, "expected an element")
		}
		if strings.HasPrefix(p.s[i:], "</") {
			if i, err = p.endTag(i, root); err != nil {
				return err
			}
			break
		}
		if i, err = p.child(i); err != nil {
			return err
		}
	}
	if i = skipSpace(p.s, i); i != len(p.s) {
		return p.malformed(i, "data after the root element")
	}
	*f = p.f
	return nil
}

// child parses the child element at s[i] and returns the index after it.
func (p *xmlParser) child(i int) (int, error) {
	name, j := p.name(i + 1)
	if name == "" {
		return 0, p.malformed(j, "expected an element name")
	}
	j, empty, err := p.attributes(j, false)
	if err != nil {
		return 0, err
	}
	end, next := j, j // an empty element (<caller/>) has empty text
	if !empty {
		if end, next = p.closingTag(j, name); end < 0 {
			return 0, p.malformed(i, "missing </"+name+">")
		}
	}
	if err := p.set(lookup("", name), name, p.s[j:end], j); err != nil {
		return 0, err
	}
	return next, nil
}

// attributes parses the attributes of a start tag up to its '>' and returns
// the index after it and whether the tag was empty ("/>"). Only the root's
// attributes are stored.
func (p *xmlParser) attributes(i int, root bool) (next int, empty bool, err error) {
	for {
		i = skipSpace(p.s, i)
		switch {
		case i >= len(p.s):
			return 0, false, p.malformed(i, "")
		case p.s[i] == '>':
			return i + 1, false, nil
		case strings.HasPrefix(p.s[i:], "/>"):
			return i + 2, true, nil
		}
		name, j := p.name(i)
		if name == "" {
			return 0, false, p.malformed(i, "expected an attribute name")
		}
		if j = skipSpace(p.s, j); j >= len(p.s) || p.s[j] != '=' {
			return 0, false, p.malformed(j, "expected '=' after attribute name")
		}
		if j = skipSpace(p.s, j+1); j >= len(p.s) || (p.s[j] != '"' && p.s[j] != '\'') {
			return 0, false, p.malformed(j, "expected a quoted attribute value")
		}
		end := strings.IndexByte(p.s[j+1:], p.s[j])
		if end < 0 {
			return 0, false, p.malformed(j, "unterminated attribute value")
		}
		end += j + 1
		if root {
			fd := fRequestID
			if name != "id" {
				fd = lookup("", name)
			}
			if err := p.set(fd, name, p.s[j+1:end], j+1); err != nil {
				return 0, false, err
			}
		}
		i = end + 1
	}
}

// set stores the text v of element or attribute name.
func (p *xmlParser) set(fd field, name, v string, off int) error {
	if fd == fNone {
		return nil
	}
	if strings.IndexByte(v, '&') >= 0 {
		v = unescapeXML(v)
	}
	if !p.f.set(fd, v, off) {
		return newError(p.s, FormatXML, ErrInvalidValue, off, "<"+name+"> "+strconv.Quote(v)+" is not a number")
	}
	return nil
}

// closingTag finds the first "</name>" at or after s[i] and returns the
// index where it starts and the index after it, or -1 and -1.
func (p *xmlParser) closingTag(i int, name string) (start, next int) {
	for {
		// IndexByte is much cheaper than Index for the two bytes "</".
		k := strings.IndexByte(p.s[i:], '<')
		if k < 0 {
			return -1, -1
		}
		i += k
		if i+1 == len(p.s) || p.s[i+1] != '/' {
			i++
			continue
		}
		if rest := p.s[i+2:]; strings.HasPrefix(rest, name) {
			if j := skipSpace(rest, len(name)); j < len(rest) && rest[j] == '>' {
				return i, i + 2 + j + 1
			}
		}
		i += 2
	}
}

// endTag checks the end tag "</name>" at s[i] and returns the index after it.
func (p *xmlParser) endTag(i int, name string) (int, error) {
	got, j := p.name(i + 2)
	if got != name {
		return 0, p.malformed(i, "expected </"+name+">")
	}
	if j = skipSpace(p.s, j); j >= len(p.s) || p.s[j] != '>' {
		return 0, p.malformed(j, "expected '>'")
	}
	return j + 1, nil
}

// name returns the XML name at s[i] and the index after it; the name is
// empty when s[i] cannot start one.
func (p *xmlParser) name(i int) (string, int) {
	start := i
	for i < len(p.s) {
		c := p.s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == ':' ||
			i > start && (isDigit(c) || c == '-' || c == '.')) {
			break
		}
		i++
	}
	return p.s[start:i], i
}

func (p *xmlParser) malformed(off int, detail string) error {
	if off >= len(p.s) {
		detail = "unexpected end of line"
	}
	return newError(p.s, FormatXML, ErrMalformed, off, detail)
}

// unescapeXML decodes the predefined entities and character references in
// v. Anything else that starts with '&' is kept as it is: API Gateway does
// not escape values, so a raw '&' is ordinary text.
func unescapeXML(v string) string {
	var b strings.Builder
	b.Grow(len(v))
	for {
		i := strings.IndexByte(v, '&')
		if i < 0 {
			b.WriteString(v)
			return b.String()
		}
		b.WriteString(v[:i])
		v = v[i:]
		semi := strings.IndexByte(v, ';')
		if semi < 0 {
			b.WriteString(v)
			return b.String()
		}
		if r, ok := xmlEntity(v[1:semi]); ok {
			b.WriteRune(r)
			v = v[semi+1:]
			continue
		}
		b.WriteByte('&')
		v = v[1:]
	}
}

// xmlEntity returns the character an entity name ("amp", "#233", "#xE9")
// stands for.
func xmlEntity(name string) (rune, bool) {
	switch name {
	case "lt":
		return '<', true
	case "gt":
		return '>', true
	case "amp":
		return '&', true
	case "quot":
		return '"', true
	case "apos":
		return '\'', true
	}
	if len(name) < 2 || name[0] != '#' {
		return 0, false
	}
	var n uint64
	var err error
	if name[1] == 'x' || name[1] == 'X' {
		n, err = strconv.ParseUint(name[2:], 16, 32)
	} else {
		n, err = strconv.ParseUint(name[1:], 10, 32)
	}
	if err != nil || !utf8.ValidRune(rune(n)) {
		return 0, false
	}
	return rune(n), true
}
