// Package discovery builds an API inventory from API Gateway access-log
// records: which endpoints exist (method and path template, such as
// GET /users/{userId}), with request counts, status classes, latency and
// response-size percentiles, first and last seen, stages, distinct clients
// and example paths.
//
// A Discoverer takes records incrementally (Add) and answers at any time
// (Endpoints, Stats, Match). It is pure: no clock, no I/O; everything it
// knows comes from the records.
//
// # Templates
//
// When a record carries the route template API Gateway matched
// (resourcePath, routeKey), that template is ground truth. Otherwise the
// template is learned from concrete paths, one tree of positions per
// application and host:
//
//   - A segment that is a parameter value on sight (integer, number, UUID,
//     hex, date, e-mail, IP, prefixed id like cus_NffrFeUfNV2Hib, key like
//     PROJ-123, capitals code, long token) goes to the position's
//     parameter; words beside it stay literal (/issues/comments beside
//     /issues/{issueId}).
//   - Other segments start as literals. A position becomes a parameter when
//     its literal children look like values rather than names: enough
//     distinct values and a high rate of new ones. A fixed set of names
//     (/v1, /v2; /users/me) stops producing new values and stays literal.
//   - When a position becomes a parameter, a word with many more requests
//     than a typical value and sub-paths unlike the parameter's stays a
//     literal sibling (/articles/feed beside /articles/{slug}); later words
//     are held back until they show which they are.
//   - A typed parameter that only ever saw one value over many requests is
//     a literal (/rest/api/3).
//
// Re-templating only merges: requests that shared an endpoint keep sharing
// one as traffic grows, and the number of positions is bounded, so
// slug-heavy traffic cannot split an endpoint into thousands.
//
// docs/inventory.md describes the rules, the noise filter, the
// configuration and the evaluation against public API specifications.
package discovery
