// Package inventory is the domain of the gwtap node: the API inventory as its
// clients see it (Endpoint, Detail, the OpenAPI export), the queries over it
// (Query, Select), and the Store the node keeps its records in.
//
// The package depends on no storage engine and no HTTP code: the SQLite store
// (package sqlite) and the node's HTTP server (package node) are adapters
// around it, and a PostgreSQL store can satisfy Store without changing it.
package inventory
