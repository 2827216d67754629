// Package localsqstest starts the local-aws-sqs stand-in (package localsqs)
// for a test: one call gives a running server that is stopped when the test
// ends.
//
// When the stand-in is not installed, the test is skipped with a message that
// says to run `npm ci`, except under CI (the CI environment variable set),
// where it fails: CI installs the stand-in, so a missing one is a broken
// build, not a reason to skip.
package localsqstest
