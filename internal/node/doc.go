// Package node is the gwtap node's HTTP server: the collector endpoint of
// protocol v1 (POST /v1/records, GET /healthz), the inventory API
// (GET /v1/inventory, /v1/inventory/{id}, /v1/openapi.json, /v1/stats) and
// the web page (/, /endpoints/{id}).
//
// A batch is decoded and checked record by record; the valid records go to
// the inventory.Store, which answers only once they are durable, and those
// that were new go to the discovery.Discoverer that builds the inventory.
// The answer is 200 with accepted, duplicate and rejected records, or a
// status that tells the sender what to do with the whole batch (see
// protocol.ActionFor). At startup the discoverer is rebuilt from the store
// while the node already takes records, so the inventory survives
// restarts: the rebuild replays what was stored before the node began
// serving, and the handler adds what arrives after, so no record is
// counted twice.
//
// Lines are decoded by a small hand-written parser for the flat objects
// senders write (decode.go), which leaves anything unusual to
// encoding/json: profiling had put encoding/json at over half of the
// node's CPU per record. Everything from traffic reaches the page through
// html/template and is served with a Content-Security-Policy that allows
// no inline script.
package node
