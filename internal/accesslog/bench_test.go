package accesslog

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/gwtap/gwtap/internal/record"
)

// seedLine is a typical line of the vendor seed's format (488 bytes).
const seedLine = `{ "requestId": "c6f1a1e4-9b1c-4d1f-8a55-2f4c1b2a7e10", "httpMethod": "GET", "path": "/prod/users/42", "protocol": "HTTP/1.1", "status": "200", "responseLength": "1234", "requestTime": "01/Dec/2026:23:10:48 +0000", "requestTimeEpoch": "1796166648123", "responseLatency": "35", "integrationLatency": "30", "integrationStatus": "200", "errorMessage": "-", "stage": "prod", "domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com", "sourceIp": "203.0.113.7", "userAgent": "curl/8.5.0" }`

// mixedSeedLines returns n seed-format lines that differ in method, path,
// lengths and user agent, so branch predictors cannot learn a single line.
func mixedSeedLines(n int) []string {
	methods := []string{"GET", "POST", "PUT", "DELETE", "PATCH", "GET", "GET", "OPTIONS"}
	agents := []string{
		"curl/8.5.0",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15",
		"okhttp/4.12.0",
		"python-requests/2.32.3",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	}
	lines := make([]string, n)
	for i := range lines {
		lines[i] = fmt.Sprintf(`{ "requestId": "c6f1a1e4-9b1c-4d1f-8a55-%012x", "httpMethod": "%s", "path": "/prod/users/%d/orders/%d", "protocol": "HTTP/1.1", "status": "%d", "responseLength": "%d", "requestTime": "01/Dec/2026:23:10:48 +0000", "requestTimeEpoch": "%d", "responseLatency": "%d", "integrationLatency": "%d", "integrationStatus": "200", "errorMessage": "-", "stage": "prod", "domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com", "sourceIp": "203.0.113.%d", "userAgent": "%s" }`,
			i, methods[i%len(methods)], i*7919%100000, i%13, 200+i%3, 100+i*37%9000, 1796166648123+int64(i)*17, 5+i%200, 3+i%190, i%250, agents[i%len(agents)])
	}
	return lines
}

func BenchmarkParse(b *testing.B) {
	cases := []struct {
		name  string
		lines []string
	}{
		{"JSON-seed", []string{seedLine}},
		{"JSON-seed-mixed", mixedSeedLines(256)},
		{"JSON-seed-extra", []string{`{ "requestId": "7e1d3c5b-9a8f-4e2d-b1c0-6f5e4d3c2b1a", "extendedRequestId": "Kx3bQFw8IAMEbXg=", "apiId": "a1b2c3d4e5", "httpMethod": "GET", "path": "/prod/pets/17", "resourcePath": "/pets/{petId}", "protocol": "HTTP/1.1", "status": "200", "responseLength": "61", "requestTime": "01/Dec/2026:23:10:48 +0000", "requestTimeEpoch": "1796166648512", "responseLatency": "41", "integrationLatency": "37", "integrationStatus": "200", "errorMessage": "-", "integrationErrorMessage": "-", "responseType": "-", "stage": "prod", "domainName": "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com", "domainPrefix": "a1b2c3d4e5", "sourceIp": "203.0.113.7", "userAgent": "okhttp/4.12.0" }`}},
		{"JSON-http", []string{`{"requestId":"JDuA4j0MIAMEbQw=","apiId":"k3l4m5n6o7","httpMethod":"POST","path":"/orders","routeKey":"POST /orders","stage":"$default","status":201,"responseLength":17,"responseLatency":45,"integrationLatency":41,"integrationStatus":200,"requestTimeEpoch":1796166648,"domainName":"k3l4m5n6o7.execute-api.us-east-2.amazonaws.com","sourceIp":"203.0.113.50","userAgent":"curl/8.5.0"}`}},
		{"CLF-rest", []string{`203.0.113.7 - - [01/Dec/2026:23:10:48 +0000]"GET /pets/{petId} HTTP/1.1" 200 52 c6f1a1e4-9b1c-4d1f-8a55-2f4c1b2a7e10 Kx3bQFw8IAMEbXg=`}},
		{"CLF-http", []string{`198.51.100.23 - - [01/Dec/2026:23:10:48 +0000] "GET GET /pets/{petId} HTTP/1.1" 200 85 JDt7ZiYJIAMEMlA= JDt7ZiYJIAMEMlA=`}},
		{"CSV-rest", []string{`203.0.113.7,-,-,01/Dec/2026:23:10:48 +0000,GET,/pets/{petId},HTTP/1.1,200,52,c6f1a1e4-9b1c-4d1f-8a55-2f4c1b2a7e10,Kx3bQFw8IAMEbXg=`}},
		{"CSV-http", []string{`198.51.100.23,01/Dec/2026:23:10:48 +0000,GET,GET /pets/{petId},HTTP/1.1,200,85,JDt7ZiYJIAMEMlA=,JDt7ZiYJIAMEMlA=`}},
		{"XML-rest", []string{`<request id="c6f1a1e4-9b1c-4d1f-8a55-2f4c1b2a7e10"> <extendedRequestId>Kx3bQFw8IAMEbXg=</extendedRequestId> <ip>203.0.113.7</ip> <caller>-</caller> <user>-</user> <requestTime>01/Dec/2026:23:10:48 +0000</requestTime> <httpMethod>GET</httpMethod> <resourcePath>/pets/{petId}</resourcePath> <status>200</status> <protocol>HTTP/1.1</protocol> <responseLength>52</responseLength> </request>`}},
		{"XML-http", []string{`<request id="JDt7ZiYJIAMEMlA="> <ip>198.51.100.23</ip> <requestTime>01/Dec/2026:23:10:48 +0000</requestTime> <httpMethod>GET</httpMethod> <routeKey>GET /pets/{petId}</routeKey> <status>200</status> <protocol>HTTP/1.1</protocol> <responseLength>85</responseLength> <extendedRequestId>JDt7ZiYJIAMEMlA=</extendedRequestId> </request>`}},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			size := 0
			for _, l := range bc.lines {
				size += len(l)
			}
			b.SetBytes(int64(size / len(bc.lines)))
			b.ReportAllocs()
			var rec record.Record
			i := 0
			for b.Loop() {
				if _, err := Parse(bc.lines[i%len(bc.lines)], &rec); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}

// BenchmarkParseJSONStdlib is the baseline: encoding/json decoding the
// same seed line into a struct of its keys, which is what a straightforward
// implementation would do (and still without the stage, template and time
// rules Parse applies). Compare its lines/s with BenchmarkParse/JSON-seed.
func BenchmarkParseJSONStdlib(b *testing.B) {
	type seedFormat struct {
		RequestID          string `json:"requestId"`
		HTTPMethod         string `json:"httpMethod"`
		Path               string `json:"path"`
		Protocol           string `json:"protocol"`
		Status             string `json:"status"`
		ResponseLength     string `json:"responseLength"`
		RequestTime        string `json:"requestTime"`
		RequestTimeEpoch   string `json:"requestTimeEpoch"`
		ResponseLatency    string `json:"responseLatency"`
		IntegrationLatency string `json:"integrationLatency"`
		IntegrationStatus  string `json:"integrationStatus"`
		ErrorMessage       string `json:"errorMessage"`
		Stage              string `json:"stage"`
		DomainName         string `json:"domainName"`
		SourceIP           string `json:"sourceIp"`
		UserAgent          string `json:"userAgent"`
	}
	line := []byte(seedLine) // converted once: the baseline gets its input for free
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		var v seedFormat
		if err := json.Unmarshal(line, &v); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
