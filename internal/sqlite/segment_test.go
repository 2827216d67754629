package sqlite

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/gwtap/gwtap/internal/record"
)

func fullRecord(i int) record.Record {
	return record.Record{
		ID: fmt.Sprintf("c6f1a1e4-9b1c-4d1f-8a55-%012x", i), AppID: "42", Time: 1764630648123 + int64(i)*37, EventTime: 1764630649000 + int64(i),
		Method: "GET", Host: "api.example.com", Path: fmt.Sprintf("/users/%d", i), Template: "/users/{id}", Protocol: "HTTP/1.1",
		Stage: "prod", APIID: "a1b2c3", Status: 200 + i%3*100, IntegrationStatus: 200, ResponseBytes: int64(1000 + i), LatencyMs: int64(i % 90),
		IntegrationLatency: 30, SourceIP: fmt.Sprintf("203.0.113.%d", i%250), UserAgent: "curl/8.5.0", Error: "", IntegrationError: "boom",
		ResponseType: "DEFAULT_5XX", LogGroup: "/aws/apigateway/x", LogStream: "s", Account: "123456789012",
	}
}

func TestSegmentRoundTrip(t *testing.T) {
	many := make([]record.Record, 300)
	for i := range many {
		many[i] = fullRecord(i)
	}
	tests := []struct {
		name string
		recs []record.Record
	}{
		{"empty", nil},
		{"id only", []record.Record{{ID: "a"}}},
		{"zero id", []record.Record{{ID: ""}, {ID: "x", Status: 200}}},
		{"full", []record.Record{fullRecord(1)}},
		{"many", many},
		{"ids of every shape", []record.Record{
			{ID: "c6f1a1e4-9b1c-4d1f-8a55-2f4c1b2a7e10"}, // packed
			{ID: "C6F1A1E4-9B1C-4D1F-8A55-2F4C1B2A7E10"}, // upper case: kept as text
			{ID: "c6f1a1e4-9b1c-4d1f-8a55-2f4c1b2a7e1"},  // short
			{ID: "c6f1a1e49b1c-4d1f-8a55-2f4c1b2a7e10-"}, // dashes misplaced
			{ID: "cw-0123456789abcdef0123456789abcdef"},
			{ID: "JTHoQgr2oAMEPMg="},
		}},
		{"unicode and escapes", []record.Record{{ID: "u", Path: "/<script>alert(1)</script>", UserAgent: "\"><img src=x onerror=alert(1)>", Host: "漢字.example", Error: "\x00\xff"}}},
		{"extreme ints", []record.Record{{ID: "a", Time: -1 << 63, LatencyMs: 1<<63 - 1, Status: -5}, {ID: "b", Time: 1<<63 - 1, LatencyMs: -1 << 63}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var enc segmentEncoder
			data := enc.encode(nil, tt.recs)
			got, err := decodeSegment(nil, data)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if len(got) != len(tt.recs) {
				t.Fatalf("got %d records, want %d", len(got), len(tt.recs))
			}
			for i := range got {
				if !reflect.DeepEqual(got[i], tt.recs[i]) {
					t.Errorf("record %d:\n got %+v\nwant %+v", i, got[i], tt.recs[i])
				}
			}
			// The encoder is reusable: a second encoding is identical.
			if again := enc.encode(nil, tt.recs); string(again) != string(data) {
				t.Error("re-encoding with the same encoder differs")
			}
		})
	}
}

func TestSegmentCompact(t *testing.T) {
	recs := make([]record.Record, 1000)
	for i := range recs {
		recs[i] = fullRecord(i)
	}
	var enc segmentEncoder
	data := enc.encode(nil, recs)
	jsonSize := 0
	for i := range recs {
		jsonSize += len(recs[i].AppendJSON(nil)) + 1
	}
	// Dictionaries and deltas make the columns several times smaller than
	// the NDJSON the records arrived as, before any compression.
	if len(data)*3 > jsonSize {
		t.Errorf("segment is %d bytes for %d bytes of NDJSON", len(data), jsonSize)
	}
}

func TestSegmentCorrupt(t *testing.T) {
	var enc segmentEncoder
	good := enc.encode(nil, []record.Record{fullRecord(1), fullRecord(2)})
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"count only", []byte{2}},
		{"count beyond data", []byte{0xff, 0xff, 0x03}},
		{"truncated", good[:len(good)-3]},
		{"column length beyond data", append([]byte{1, fID, kindIDs, 50}, 1)},
		{"bad id tag", []byte{1, fID, kindIDs, 2, 7, 0}},
		{"dictionary index out of range", []byte{1, fID, kindIDs, 3, 0, 1, 'a', fHost, kindDict, 4, 1, 1, 'h', 5}},
		{"trailing bytes in column", []byte{1, fID, kindIDs, 4, 0, 1, 'a', 9}},
		{"varint overflow", append([]byte{1, fID, kindIDs, 3, 0, 1, 'a', fTime, kindInts, 11}, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := decodeSegment(nil, tt.data); !errors.Is(err, errCorrupt) {
				t.Errorf("got %v, want errCorrupt", err)
			}
		})
	}
}

func TestSegmentSkipsUnknownColumns(t *testing.T) {
	var enc segmentEncoder
	data := enc.encode(nil, []record.Record{{ID: "a", Status: 200}})
	// A later version's field 99 of a kind this one does not know.
	data = appendColumn(data, 99, 42, []byte("future"))
	data = appendColumn(data, 98, kindStrings, []byte{1, 'x'})
	got, err := decodeSegment(nil, data)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != "a" || got[0].Status != 200 {
		t.Errorf("got %+v", got)
	}
}

func TestUUIDPacking(t *testing.T) {
	for _, id := range []string{"00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff", "c6f1a1e4-9b1c-4d1f-8a55-2f4c1b2a7e10"} {
		u, ok := parseUUID(id)
		if !ok {
			t.Fatalf("%s not packed", id)
		}
		if got := formatUUID(string(u[:])); got != id {
			t.Errorf("round trip %s -> %s", id, got)
		}
	}
	for _, id := range []string{"", "c6f1a1e4-9b1c-4d1f-8a55-2f4c1b2a7e1g", "C6F1A1E4-9B1C-4D1F-8A55-2F4C1B2A7E10", "c6f1a1e4x9b1c-4d1f-8a55-2f4c1b2a7e10"} {
		if _, ok := parseUUID(id); ok {
			t.Errorf("%q packed", id)
		}
	}
}

func FuzzSegmentDecode(f *testing.F) {
	var enc segmentEncoder
	f.Add(enc.encode(nil, []record.Record{fullRecord(1), fullRecord(2)}))
	f.Add([]byte{1, fID, kindIDs, 2, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := decodeSegment(nil, data)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to something that decodes the same.
		var enc segmentEncoder
		again, err := decodeSegment(nil, enc.encode(nil, recs))
		if err != nil {
			t.Fatalf("re-encoded segment does not decode: %v", err)
		}
		if !reflect.DeepEqual(again, recs) && len(recs) > 0 {
			t.Fatalf("round trip differs")
		}
	})
}

func FuzzSegmentRoundTrip(f *testing.F) {
	f.Add("id", "/a/b", "ua", int64(3), 200)
	f.Add("c6f1a1e4-9b1c-4d1f-8a55-2f4c1b2a7e10", "", "\xff", int64(-1), -1)
	f.Fuzz(func(t *testing.T, id, path, ua string, n int64, status int) {
		recs := []record.Record{{ID: id, Path: path, UserAgent: ua, LatencyMs: n, Status: status}, {ID: id + "2", Path: path, Time: n}}
		var enc segmentEncoder
		got, err := decodeSegment(nil, enc.encode(nil, recs))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, recs) {
			t.Fatalf("got %+v, want %+v", got, recs)
		}
	})
}
