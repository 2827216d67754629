package lambdaemu

import (
	"bytes"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// cutTimeout bounds how long cut waits for its marker to come through the
// pipe. The reader drains the pipe continuously, so the marker normally
// arrives in microseconds; the bound only matters if a process keeps the
// pipe busy with more than MaxLogBytes after an invocation ends.
const cutTimeout = 2 * time.Second

// logCapture is the pipe every process of an Emulator writes its stdout and
// stderr to, as Lambda's runtime writes both to one log stream. The emulator
// keeps the write end open too, so it can attribute output to invocations
// exactly: cut writes a unique marker into the pipe, and since a pipe is
// FIFO, everything before the marker was written before the cut.
type logCapture struct {
	r, w  *os.File
	limit int
	seq   atomic.Uint64

	mu      sync.Mutex
	buf     []byte
	scanned int // buf[:scanned] holds no complete marker
	dropped int // bytes dropped from the front of buf since the last cut

	notify chan struct{} // a token after each append
	done   chan struct{} // closed when the reader stops
}

func newLogCapture(limit int) (*logCapture, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("creating the log pipe: %w", err)
	}
	c := &logCapture{r: r, w: w, limit: limit, notify: make(chan struct{}, 1), done: make(chan struct{})}
	go c.read()
	return c, nil
}

func (c *logCapture) read() {
	defer close(c.done)
	b := make([]byte, 64<<10)
	for {
		n, err := c.r.Read(b)
		if n > 0 {
			c.mu.Lock()
			c.buf = append(c.buf, b[:n]...)
			if over := len(c.buf) - c.limit; c.limit > 0 && over > 0 {
				// Keep the newest output: a marker being waited for is
				// always at the end.
				c.buf = append(c.buf[:0], c.buf[over:]...)
				c.dropped += over
				c.scanned = max(0, c.scanned-over)
			}
			c.mu.Unlock()
			select {
			case c.notify <- struct{}{}:
			default:
			}
		}
		if err != nil {
			return
		}
	}
}

// markerPrefix starts every marker; the NUL bytes keep it apart from text.
const markerPrefix = "\x00lambdaemu-cut-"

// cut returns everything written to the pipe since the previous cut.
func (c *logCapture) cut() []byte {
	marker := []byte(fmt.Sprintf("%s%d\x00", markerPrefix, c.seq.Add(1)))
	// A write of at most PIPE_BUF bytes is atomic, so the marker never
	// lands inside another writer's small write.
	if _, err := c.w.Write(marker); err != nil {
		return c.take(-1, nil)
	}
	timeout := time.NewTimer(cutTimeout)
	defer timeout.Stop()
	for {
		c.mu.Lock()
		from := max(0, c.scanned-len(marker))
		i := bytes.Index(c.buf[from:], marker)
		if i < 0 {
			c.scanned = len(c.buf)
			c.mu.Unlock()
			select {
			case <-c.notify:
				continue
			case <-c.done:
			case <-timeout.C:
			}
			return c.take(-1, marker)
		}
		c.mu.Unlock()
		return c.take(from+i, marker)
	}
}

// take removes buf[:end] (all of buf when end < 0) and the marker after it,
// and returns the removed output with stale markers stripped.
func (c *logCapture) take(end int, marker []byte) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if end < 0 || end > len(c.buf) {
		end = len(c.buf)
	}
	out := stripMarkers(c.buf[:end])
	if c.dropped > 0 {
		note := fmt.Sprintf("[lambdaemu: %d bytes of earlier output dropped, over the %d-byte log limit]\n", c.dropped, c.limit)
		out = append([]byte(note), out...)
	}
	rest := c.buf[end:]
	if marker != nil && bytes.HasPrefix(rest, marker) {
		rest = rest[len(marker):]
	}
	c.buf = append([]byte(nil), rest...)
	c.scanned = 0
	c.dropped = 0
	return out
}

// stripMarkers returns a copy of b without any markers, which only a cut
// that gave up waiting can leave behind.
func stripMarkers(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for {
		i := bytes.Index(b, []byte(markerPrefix))
		if i < 0 {
			return append(out, b...)
		}
		out = append(out, b[:i]...)
		b = b[i+len(markerPrefix):]
		if j := bytes.IndexByte(b, 0); j >= 0 {
			b = b[j+1:]
		}
	}
}

// writer is what processes get as stdout and stderr.
func (c *logCapture) writer() *os.File {
	return c.w
}

// close stops the capture. Output still in the pipe is lost.
func (c *logCapture) close() {
	_ = c.w.Close() // the reader sees EOF once no process holds the pipe
	_ = c.r.Close() // and stops now even if one still does
	<-c.done
}
