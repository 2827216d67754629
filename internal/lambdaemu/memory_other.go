//go:build !linux && !darwin

package lambdaemu

import (
	"errors"
	"os"
)

// readHWM is unavailable outside Linux.
func readHWM(int) (int64, error) {
	return 0, errors.New("the peak RSS of a running process needs Linux's /proc")
}

// exitMaxRSS is unknown here: ru_maxrss units differ between systems.
func exitMaxRSS(*os.ProcessState) int64 {
	return 0
}
