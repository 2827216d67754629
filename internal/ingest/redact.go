package ingest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
)

// Redaction says what happens to a personal field (source IP, user agent)
// before a record leaves the account.
type Redaction uint8

// Redaction modes.
const (
	// Keep sends the value as logged (the default).
	Keep Redaction = iota
	// Drop removes the value.
	Drop
	// Hash replaces the value by a keyed hash (HMAC-SHA-256, 96 bits, hex,
	// prefixed "h:"): the same client keeps the same token, so the node
	// still counts distinct clients, but the value cannot be recovered
	// without the key.
	Hash
)

// ParseRedaction reads keep, drop or hash.
func ParseRedaction(s string) (Redaction, error) {
	switch s {
	case "", "keep":
		return Keep, nil
	case "drop":
		return Drop, nil
	case "hash":
		return Hash, nil
	}
	return Keep, fmt.Errorf("%q is not keep, drop or hash", s)
}

// minRedactKeyBytes is the shortest key Hash accepts: shorter keys make the
// tokens of the few billion IPv4 addresses easy to enumerate.
const minRedactKeyBytes = 16

// redactor applies the configured modes; it keeps one HMAC state per
// pipeline, so hashing costs no allocation per record beyond the token.
type redactor struct {
	ip, ua Redaction
	mac    hash.Hash
	sum    []byte
}

func newRedactor(cfg Config) *redactor {
	r := &redactor{ip: cfg.RedactSourceIP, ua: cfg.RedactUserAgent}
	if r.ip == Hash || r.ua == Hash {
		r.mac = hmac.New(sha256.New, cfg.RedactKey)
	}
	return r
}

func (r *redactor) active() bool { return r.ip != Keep || r.ua != Keep }

func (r *redactor) apply(sourceIP, userAgent *string) {
	*sourceIP = r.one(r.ip, *sourceIP)
	*userAgent = r.one(r.ua, *userAgent)
}

func (r *redactor) one(mode Redaction, v string) string {
	switch {
	case v == "" || mode == Keep:
		return v
	case mode == Drop:
		return ""
	}
	r.mac.Reset()
	r.mac.Write([]byte(v))
	r.sum = r.mac.Sum(r.sum[:0])
	return "h:" + hex.EncodeToString(r.sum[:12])
}
