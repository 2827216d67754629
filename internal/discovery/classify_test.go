package discovery

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		seg  string
		want kind
	}{
		// Names.
		{"users", kindWord},
		{"feed", kindWord},
		{"me", kindWord},
		{"payment_intents", kindWord},
		{"check-runs", kindWord},
		{"serverInfo", kindWord},
		{"index.html", kindWord},
		{"deadbeef", kindWord}, // hex letters only: a word
		{"v1", kindVersion},
		{"V2", kindVersion},
		{"v2.1", kindVersion},
		{"v1beta1", kindVersion},
		{"v3alpha", kindVersion},
		{"oauth2", kindMixed},
		{"s3", kindMixed},
		{"2fa", kindMixed},
		{"jake92", kindMixed},
		{"release-1.2", kindMixed},
		{"v1.2.3", kindMixed},
		{".well-known", kindOther},
		{"main...dev", kindOther},
		{"good%20first%20issue", kindOther},
		{"a--b", kindOther},
		{"how-to-train-your-dragon", kindSlug},
		{"abcdefghijklmnopqrstuvwxyz", kindSlug},
		// Values.
		{"42", kindInteger},
		{"-7", kindInteger},
		{"0", kindInteger},
		{"3.14", kindNumber},
		{"123e4567-e89b-12d3-a456-426614174000", kindUUID},
		{"123E4567-E89B-12D3-A456-426614174000", kindUUID},
		{"3fa9c1e", kindHex},
		{"9b2c7d1e0f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c", kindHex},
		{"2026-03-04", kindDate},
		{"2026-03", kindDate},
		{"2026-03-04T10:00:00Z", kindDateTime},
		{"2026-03-04T10%3A00%3A00Z", kindDateTime},
		{"jane@example.org", kindEmail},
		{"jane%40example.org", kindEmail},
		{"192.0.2.1", kindIP},
		{"cus_NffrFeUfNV2Hib", kindPrefixedID},
		{"pi_3MtwBwLkdIwHu7ix28a3tqPa", kindPrefixedID},
		{"cs_test_a1B2c3D4e5F6", kindPrefixedID},
		{"ord_3fa9c2d1e0b7aa", kindPrefixedID},
		{"po_GkBhcwbGCHCYxi", kindPrefixedID},
		{"PROJ-123", kindKey},
		{"SKU-12345-A", kindKey},
		{"PROJ", kindCode},
		{"USD", kindCode},
		{"MY_SECRET", kindCode},
		{"SUMMER25", kindCode},
		{"1Z0A1B2C0123456789", kindToken},
		{"how-to-train-your-dragon-x1y2", kindToken},
		{"dGhpcyBpcyBhIHRva2Vu", kindToken},
		{"{id}", kindToken},
		{strings.Repeat("a", maxLiteralLen+1), kindLong},
		// Near misses.
		{"2026-13-01", kindMixed},
		{"300.1.2.3", kindMixed},
		{"a@b", kindOther},
		{"payment_intent_x", kindSlug},
		{"login_links", kindWord},
		{"", kindOther},
	}
	for _, tt := range tests {
		t.Run(tt.seg, func(t *testing.T) {
			if got := classify(tt.seg); got != tt.want {
				t.Errorf("classify(%q) = %v, want %v", tt.seg, got, tt.want)
			}
		})
	}
}

func TestKindProperties(t *testing.T) {
	for k := range numKinds {
		if k.String() == "kind?" {
			t.Errorf("kind %d has no name", k)
		}
		if k.typed() && (k.pendingEligible() || k.mixedLike()) {
			t.Errorf("%v is typed and a literal candidate", k)
		}
		if kindTypes[k] == "" {
			t.Errorf("%v has no parameter type", k)
		}
	}
	if numKinds.String() != "kind?" {
		t.Errorf("out-of-range kind has a name")
	}
}

// FuzzClassify checks that classify never panics, is deterministic, and
// that each kind it returns holds what the kind promises.
func FuzzClassify(f *testing.F) {
	for _, s := range []string{"users", "42", "3.14", "v1", "cus_NffrFeUfNV2Hib", "PROJ-123", "2026-03-04",
		"123e4567-e89b-12d3-a456-426614174000", "jane@example.org", "a%40b.cd", "192.0.2.1", "-", ".", "{x}",
		"2026-03-04T10:00:00Z", "how-to-train-your-dragon-x1y2", "\xff\xfe", "MY_SECRET"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k := classify(s)
		if k >= numKinds {
			t.Fatalf("classify(%q) = %d, out of range", s, k)
		}
		if again := classify(s); again != k {
			t.Fatalf("classify(%q) = %v then %v", s, k, again)
		}
		switch k {
		case kindInteger:
			if strings.TrimLeft(strings.TrimPrefix(s, "-"), "0123456789") != "" || strings.Trim(s, "-") == "" {
				t.Errorf("classify(%q) = integer", s)
			}
		case kindUUID:
			if len(s) != 36 || strings.Count(s, "-") != 4 {
				t.Errorf("classify(%q) = uuid", s)
			}
		case kindEmail:
			if !strings.Contains(s, "@") && !strings.Contains(s, "%40") {
				t.Errorf("classify(%q) = email without @", s)
			}
		case kindWord:
			if !isWord(s) || len(s) > maxWordLen {
				t.Errorf("classify(%q) = word", s)
			}
		case kindLong:
			if len(s) <= maxLiteralLen {
				t.Errorf("classify(%q) = long at %d bytes", s, len(s))
			}
		case kindPrefixedID:
			if !strings.Contains(s, "_") {
				t.Errorf("classify(%q) = prefixed id without '_'", s)
			}
		case kindHex:
			if len(s) < 7 || strings.Trim(s, "0123456789abcdefABCDEF") != "" {
				t.Errorf("classify(%q) = hex", s)
			}
		}
		if k == kindWord || k == kindVersion {
			if !utf8.ValidString(s) || strings.ContainsAny(s, "{}%/@ ") {
				t.Errorf("classify(%q) = %v, a literal sibling candidate with odd characters", s, k)
			}
		}
	})
}
