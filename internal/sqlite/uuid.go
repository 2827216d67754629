package sqlite

// parseUUID returns the 16 bytes of id when id is a UUID in canonical
// lower-case form (8-4-4-4-12 hex digits), the form API Gateway's request
// ids take. Only that exact form is packed, so formatUUID restores the id
// byte for byte; any other id is kept as text.
func parseUUID(id string) ([16]byte, bool) {
	var u [16]byte
	if len(id) != 36 || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-' {
		return u, false
	}
	j := 0
	for i := 0; i < 36; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i++
			continue
		}
		hi, ok1 := unhex(id[i])
		lo, ok2 := unhex(id[i+1])
		if !ok1 || !ok2 {
			return u, false
		}
		u[j] = hi<<4 | lo
		j++
		i += 2
	}
	return u, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

const hexDigits = "0123456789abcdef"

// formatUUID is the inverse of parseUUID; b holds 16 bytes.
func formatUUID(b string) string {
	if len(b) != 16 {
		return ""
	}
	var out [36]byte
	j := 0
	for i := 0; i < 16; i++ {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j] = hexDigits[b[i]>>4]
		out[j+1] = hexDigits[b[i]&0xf]
		j += 2
	}
	return string(out[:])
}
