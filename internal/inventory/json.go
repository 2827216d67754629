package inventory

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// marshalJSON encodes v without HTML escaping: the documents are served as
// application/json, never embedded in HTML.
func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encoding JSON: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
