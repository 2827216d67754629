package metrics

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestWriteEMF(t *testing.T) {
	s := New("gwtap", [2]string{"FunctionName", "ingest"}, [2]string{"Empty", ""})
	s.Add("RecordsParsed", Count, 3)
	s.Add("RecordsParsed", Count, 2)
	s.Add("PayloadBytes", Bytes, 1024)
	var buf bytes.Buffer
	if err := s.Write(&buf, time.UnixMilli(1764630648123)); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		FunctionName  string
		RecordsParsed float64
		PayloadBytes  float64
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("not JSON: %v: %s", err, buf.Bytes())
	}
	d := doc.AWS.CloudWatchMetrics[0]
	if doc.AWS.Timestamp != 1764630648123 || d.Namespace != "gwtap" || len(d.Dimensions) != 1 ||
		len(d.Dimensions[0]) != 1 || d.Dimensions[0][0] != "FunctionName" || doc.FunctionName != "ingest" {
		t.Errorf("directive: %s", buf.Bytes())
	}
	if doc.RecordsParsed != 5 || doc.PayloadBytes != 1024 || len(d.Metrics) != 2 || d.Metrics[1].Unit != "Bytes" {
		t.Errorf("values: %s", buf.Bytes())
	}
	if s.Value("RecordsParsed") != 5 || s.Value("missing") != 0 {
		t.Error("Value")
	}
	if bytes.Count(buf.Bytes(), []byte("\n")) != 1 {
		t.Error("EMF must be exactly one line")
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("closed") }

func TestWriteErrors(t *testing.T) {
	s := New("gwtap")
	s.Add("a", Count, 1)
	if err := s.Write(failingWriter{}, time.Now()); err == nil {
		t.Error("writer failure not reported")
	}
	big := New("gwtap")
	for i := range maxMetrics + 1 {
		big.Add(fmt.Sprint("m", i), Count, 1)
	}
	if err := big.Write(&bytes.Buffer{}, time.Now()); err == nil {
		t.Error("too many metrics accepted")
	}
}

func TestTotalsReadsWhatSetWrites(t *testing.T) {
	var tot Totals
	for i := range 3 {
		s := New("gwtap", [2]string{"FunctionName", "forward"})
		s.Add("RecordsDelivered", Count, float64(10*(i+1)))
		s.Add("NodeLatency", Milliseconds, 2)
		var buf bytes.Buffer
		if err := s.Write(&buf, time.Now()); err != nil {
			t.Fatal(err)
		}
		buf.WriteString("not json\n{\"msg\":\"a log line\",\"RecordsDelivered\":1000}\n")
		if _, err := tot.Write(buf.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	if got := tot.Int("RecordsDelivered"); got != 60 {
		t.Errorf("RecordsDelivered = %d, want 60 (log lines that only look like metrics must not count)", got)
	}
	if tot.Int("NodeLatency") != 6 || tot.Int("FunctionName") != 0 || tot.Int("missing") != 0 {
		t.Errorf("latency %d, dimension %d", tot.Int("NodeLatency"), tot.Int("FunctionName"))
	}
}
