// Package evaluation measures internal/discovery against public APIs: it
// reads route lists taken from their OpenAPI documents (testdata/routes),
// generates deterministic, template-less traffic to every route with
// realistic values for each kind of parameter (slugs, prefixed ids, issue
// keys, SHAs, …), runs it through a Discoverer and scores the recovered
// (method, template) pairs, with parameter names normalised, by precision,
// recall and F1.
//
// It backs TestEvaluation, which keeps F1 at or above 0.95 on every API,
// and the evaldiscovery command, which prints the table.
package evaluation
