package accesslog

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// parseNumber parses a status, length or latency. API Gateway logs them as
// integers, in JSON strings or bare; a fraction is truncated ("35.7" is 35)
// and an exponent is accepted because JSON allows it.
func parseNumber(s string) (int64, bool) {
	i := 0
	neg := false
	if i < len(s) && s[i] == '-' {
		neg = true
		i++
	}
	n, i, ok := parseDigits(s, i)
	if !ok {
		return 0, false
	}
	if i < len(s) && s[i] == '.' {
		if i = skipDigits(s, i+1); i < 0 {
			return 0, false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		f, ok := parseFloat(s)
		return int64(f), ok
	}
	if i != len(s) {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

// parseEpochMs parses requestTimeEpoch into Unix milliseconds. REST APIs log
// milliseconds; seconds, possibly with a fraction, are accepted too. A value
// below 1e11 is taken as seconds: as milliseconds it would date from 1973.
func parseEpochMs(s string) (int64, bool) {
	n, i, ok := parseDigits(s, 0)
	if !ok {
		return 0, false
	}
	frac := ""
	if i < len(s) && s[i] == '.' {
		end := skipDigits(s, i+1)
		if end < 0 {
			return 0, false
		}
		frac, i = s[i+1:end], end
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		f, ok := parseFloat(s)
		if !ok || f < 0 {
			return 0, false
		}
		if f < 1e11 {
			f *= 1000
		}
		return int64(f), true
	}
	if i != len(s) {
		return 0, false
	}
	if n >= 1e11 {
		return n, true // already milliseconds; a fraction would be sub-ms
	}
	ms := n * 1000
	for k, scale := 0, int64(100); k < len(frac) && k < 3; k, scale = k+1, scale/10 {
		ms += int64(frac[k]-'0') * scale
	}
	return ms, true
}

// parseDigits parses the run of decimal digits at s[i:]. It fails when there
// is none or the value would overflow int64.
func parseDigits(s string, i int) (n int64, end int, ok bool) {
	start := i
	for ; i < len(s) && isDigit(s[i]); i++ {
		if n > (math.MaxInt64-9)/10 {
			return 0, i, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, i, i > start
}

// skipDigits returns the end of the non-empty run of digits at s[i:], or -1.
func skipDigits(s string, i int) int {
	start := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i == start {
		return -1
	}
	return i
}

// parseFloat handles the rare exponent form; the caller has checked the
// mantissa, so only the exponent and the int64 range are left to check.
func parseFloat(s string) (float64, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.Abs(f) >= math.MaxInt64 {
		return 0, false
	}
	return f, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// clfTimeLayout is $context.requestTime: CLF time, always in this width.
const clfTimeLayout = "02/Jan/2006:15:04:05 -0700"

// parseCLFTime parses $context.requestTime into Unix milliseconds by hand:
// time.Parse is several times slower and this is the hot path for formats
// that log no epoch.
func parseCLFTime(s string) (int64, bool) {
	if len(s) != len(clfTimeLayout) || s[2] != '/' || s[6] != '/' || s[11] != ':' ||
		s[14] != ':' || s[17] != ':' || s[20] != ' ' {
		return 0, false
	}
	day, ok1 := atoi2(s[0:2])
	year, ok2 := atoi2(s[7:9])
	year2, ok3 := atoi2(s[9:11])
	hour, ok4 := atoi2(s[12:14])
	minute, ok5 := atoi2(s[15:17])
	sec, ok6 := atoi2(s[18:20])
	offH, ok7 := atoi2(s[22:24])
	offM, ok8 := atoi2(s[24:26])
	month := monthIndex(s[3:6])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && ok8) || month == 0 ||
		day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 60 || offH > 23 || offM > 59 {
		return 0, false
	}
	offset := int64(offH*60+offM) * 60 * 1000
	switch s[21] {
	case '+':
		offset = -offset
	case '-':
	default:
		return 0, false
	}
	t := time.Date(year*100+year2, time.Month(month), day, hour, minute, sec, 0, time.UTC)
	return t.UnixMilli() + offset, true
}

func atoi2(s string) (int, bool) {
	if !isDigit(s[0]) || !isDigit(s[1]) {
		return 0, false
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), true
}

// monthIndex returns 1 for "Jan" through 12 for "Dec", 0 otherwise.
func monthIndex(s string) int {
	const months = "JanFebMarAprMayJunJulAugSepOctNovDec"
	if i := strings.Index(months, s); i >= 0 && i%3 == 0 {
		return i/3 + 1
	}
	return 0
}
