// Package web renders the node's web page: the inventory as a table with
// search and filters, an endpoint's detail, and a live count of the records
// received. Pages are rendered on the server with html/template, whose
// contextual escaping turns everything that came from traffic (paths,
// templates, hosts, user agents, error messages) into text; a small script,
// served from the same origin and allowed by the Content-Security-Policy
// the node sends, only filters rows and refreshes the count. Templates and
// assets are embedded, so the binary needs no files and the page no network.
package web
