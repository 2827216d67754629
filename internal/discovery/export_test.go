package discovery

import "github.com/gwtap/gwtap/internal/record"

// Lookup exposes lookup to the external tests: the key of the endpoint,
// visible or not, that a request like r belongs to.
func (d *Discoverer) Lookup(r record.Record) (Key, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	k, _, ok := d.lookup(&r)
	return k, ok
}
