package evaluation

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// values fills route templates with realistic concrete values. Each kind of
// value has a pool, drawn from with a skew so that some values (a popular
// repository, a big customer) recur while new ones keep coming.
type values struct {
	api   string
	skew  float64
	pools map[string][]string
}

// Pool sizes: large enough that values keep arriving, as on a live API.
const poolSize = 4000

func newValues(api string, seed uint64, skew float64) *values {
	v := &values{api: api, skew: max(skew, 1), pools: map[string][]string{}}
	r := rand.New(rand.NewPCG(seed^0x5eed, hashName(api)+1))
	add := func(name string, gen func(*rand.Rand) string) {
		seen := map[string]bool{}
		// Some generators have fewer than poolSize distinct values: the
		// attempts are bounded and the pool is what they could make.
		for range 20 * poolSize {
			if len(v.pools[name]) == poolSize {
				break
			}
			if s := gen(r); !seen[s] {
				seen[s] = true
				v.pools[name] = append(v.pools[name], s)
			}
		}
	}
	add("login", login)
	add("repo", repoName)
	add("branch", branchName)
	add("label", labelName)
	add("team", teamSlug)
	add("article", articleSlug)
	add("issuekey", jiraIssueKey)
	return v
}

// draw picks from pool name with the configured skew.
func (v *values) draw(r *rand.Rand, name string) string {
	p := v.pools[name]
	return p[int(float64(len(p))*math.Pow(r.Float64(), v.skew))]
}

// fill replaces every {param} of template with a value of its kind.
func (v *values) fill(r *rand.Rand, template string) string {
	var b strings.Builder
	parent := ""
	for seg := range strings.SplitSeq(strings.TrimPrefix(template, "/"), "/") {
		b.WriteByte('/')
		if len(seg) > 2 && seg[0] == '{' && seg[len(seg)-1] == '}' {
			b.WriteString(v.value(r, v.api, seg[1:len(seg)-1], parent))
		} else {
			b.WriteString(seg)
		}
		parent = seg
	}
	return b.String()
}

// value returns a value for parameter param (after segment parent) of api.
func (v *values) value(r *rand.Rand, api, param, parent string) string {
	switch api {
	case "github":
		return v.github(r, param)
	case "stripe":
		return v.stripe(r, param, parent)
	case "jira":
		return v.jira(r, param)
	case "conduit":
		return v.conduit(r, param)
	}
	return fmt.Sprint(r.IntN(1 << 20))
}

func (v *values) github(r *rand.Rand, param string) string {
	switch param {
	case "owner", "username", "org":
		return v.draw(r, "login")
	case "repo":
		return v.draw(r, "repo")
	case "issue_number", "pull_number", "milestone_number":
		return fmt.Sprint(1 + int(6000*math.Pow(r.Float64(), 2)))
	case "ref", "commit_sha", "tree_sha", "file_sha":
		return hexString(r, 40)
	case "gist_id":
		return hexString(r, 32)
	case "branch":
		return v.draw(r, "branch")
	case "tag":
		return fmt.Sprintf("v%d.%d.%d", r.IntN(6), r.IntN(30), r.IntN(40))
	case "name":
		return v.draw(r, "label")
	case "team_slug":
		return v.draw(r, "team")
	case "secret_name":
		return secretNames[r.IntN(len(secretNames))] + fmt.Sprintf("_%d", r.IntN(40))
	case "basehead":
		return v.draw(r, "branch") + "..." + v.draw(r, "branch")
	}
	// comment_id, event_id, release_id, asset_id, hook_id, deployment_id,
	// run_id, workflow_id, check_run_id: large database ids.
	return fmt.Sprint(100000 + r.Int64N(9_000_000_000))
}

// stripePrefixes are the id prefixes of Stripe objects, by the collection
// (or parameter) they appear under.
var stripePrefixes = map[string]string{
	"balance_transactions": "txn", "charges": "ch", "customers": "cus", "sources": "src", "tax_ids": "txi",
	"disputes": "dp", "events": "evt", "files": "file", "payment_intents": "pi", "setup_intents": "seti",
	"payment_methods": "pm", "payouts": "po", "refunds": "re", "products": "prod", "prices": "price",
	"promotion_codes": "promo", "invoices": "in", "invoiceitems": "ii", "subscriptions": "sub",
	"subscription_items": "si", "sessions": "cs_live", "accounts": "acct", "transfers": "tr",
	"webhook_endpoints": "we", "tax_rates": "txr", "quotes": "qt", "readers": "tmr",
	"application_fees": "fee", "topups": "tu", "mandates": "mandate", "tokens": "tok",
}

func (v *values) stripe(r *rand.Rand, param, parent string) string {
	switch param {
	case "coupon":
		if r.IntN(3) == 0 {
			return couponWords[r.IntN(len(couponWords))] + fmt.Sprint(5*(1+r.IntN(10)))
		}
		return string(rune('A'+r.IntN(26))) + alnum(r, 7, upperDigits)
	case "country":
		return countries[r.IntN(len(countries))]
	}
	prefix, ok := stripePrefixes[parent]
	if !ok {
		prefix = "obj"
	}
	if parent == "sources" && r.IntN(2) == 0 {
		prefix = "card"
	}
	n := 14
	if prefix == "pi" || prefix == "ch" || prefix == "seti" || prefix == "cs_live" || prefix == "txn" {
		n = 24
	}
	// A few ids per object kind are much more used (a big customer, a
	// subscription product): draw the random part from a skewed index.
	idx := int(5000 * math.Pow(r.Float64(), 2))
	return prefix + "_" + alnum(rand.New(rand.NewPCG(uint64(idx), hashName(prefix))), n, base62)
}

func (v *values) jira(r *rand.Rand, param string) string {
	switch param {
	case "issueIdOrKey":
		if r.IntN(4) == 0 {
			return fmt.Sprint(10000 + r.IntN(90000))
		}
		return v.draw(r, "issuekey")
	case "projectIdOrKey":
		if r.IntN(4) == 0 {
			return fmt.Sprint(10000 + r.IntN(400))
		}
		return jiraProjects[int(float64(len(jiraProjects))*math.Pow(r.Float64(), 1.5))]
	}
	// id, linkId, idOrName: numeric ids.
	return fmt.Sprint(10000 + r.IntN(50000))
}

func (v *values) conduit(r *rand.Rand, param string) string {
	switch param {
	case "slug":
		return v.draw(r, "article")
	case "username":
		return v.draw(r, "login")
	}
	return fmt.Sprint(1 + r.IntN(200000))
}

const (
	base62      = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	upperDigits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	lowerDigits = "0123456789abcdefghijklmnopqrstuvwxyz"
)

func alnum(r *rand.Rand, n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

func hexString(r *rand.Rand, n int) string {
	return alnum(r, n, "0123456789abcdef")
}

func pick(r *rand.Rand, words []string) string { return words[r.IntN(len(words))] }

// login returns a plausible username: names, words, digits and dashes as
// people choose them.
func login(r *rand.Rand) string {
	switch r.IntN(8) {
	case 0:
		return pick(r, firstNames) + pick(r, lastNames)
	case 1:
		return pick(r, firstNames) + "-" + pick(r, lastNames)
	case 2:
		return pick(r, firstNames) + fmt.Sprint(r.IntN(100))
	case 3:
		return pick(r, adjectives) + pick(r, nouns)
	case 4:
		return string(pick(r, firstNames)[0]) + pick(r, lastNames)
	case 5:
		return pick(r, nouns) + "-" + pick(r, nouns)
	case 6:
		return pick(r, lastNames) + fmt.Sprint(1970+r.IntN(40))
	}
	return pick(r, adjectives) + "-" + pick(r, nouns) + fmt.Sprint(r.IntN(10))
}

func repoName(r *rand.Rand) string {
	switch r.IntN(7) {
	case 0:
		return pick(r, nouns)
	case 1:
		return pick(r, nouns) + "-" + pick(r, nouns)
	case 2:
		return pick(r, adjectives) + "-" + pick(r, nouns)
	case 3:
		return pick(r, nouns) + ".js"
	case 4:
		return "awesome-" + pick(r, nouns)
	case 5:
		return pick(r, nouns) + "_" + pick(r, nouns)
	}
	return pick(r, nouns) + "-" + pick(r, langs)
}

func branchName(r *rand.Rand) string {
	switch r.IntN(5) {
	case 0:
		return "feature-" + pick(r, nouns) + "-" + fmt.Sprint(r.IntN(2000))
	case 1:
		return "fix-" + pick(r, nouns)
	case 2:
		return fmt.Sprintf("release-%d.%d", r.IntN(5), r.IntN(20))
	case 3:
		return pick(r, firstNames) + "-" + pick(r, nouns)
	}
	return "dependabot-" + pick(r, langs) + "-" + pick(r, nouns) + fmt.Sprintf("-%d.%d.%d", r.IntN(5), r.IntN(20), r.IntN(30))
}

func labelName(r *rand.Rand) string {
	switch r.IntN(4) {
	case 0:
		return pick(r, labelWords)
	case 1:
		return "area-" + pick(r, nouns)
	case 2:
		return "priority%3A" + pick(r, []string{"high", "low", "medium", "critical"}) + fmt.Sprint(r.IntN(9))
	}
	return pick(r, labelWords) + "%20" + pick(r, nouns)
}

func teamSlug(r *rand.Rand) string {
	switch r.IntN(3) {
	case 0:
		return pick(r, nouns) + "-team"
	case 1:
		return pick(r, adjectives) + "-" + pick(r, nouns)
	}
	return pick(r, nouns) + "-" + pick(r, nouns) + "-" + fmt.Sprint(r.IntN(50))
}

// articleSlug is what Conduit makes of a title: its words, a dash and a
// random suffix of six letters or digits.
func articleSlug(r *rand.Rand) string {
	words := make([]string, 2+r.IntN(5))
	for i := range words {
		words[i] = pick(r, titleWords)
	}
	return strings.Join(words, "-") + "-" + alnum(r, 6, lowerDigits)
}

func jiraIssueKey(r *rand.Rand) string {
	p := jiraProjects[int(float64(len(jiraProjects))*math.Pow(r.Float64(), 1.5))]
	return fmt.Sprintf("%s-%d", p, 1+r.IntN(8000))
}

var (
	firstNames = []string{"alex", "sam", "jane", "john", "maria", "li", "wei", "anna", "omar", "lena", "tom", "kate",
		"ivan", "sofia", "noah", "emma", "liam", "mia", "yuki", "ravi", "priya", "hugo", "nina", "paul", "zoe",
		"diego", "sara", "max", "eva", "leo", "ines", "finn", "amir", "chloe", "ben", "ada", "grace", "linus"}
	lastNames = []string{"smith", "nguyen", "garcia", "mueller", "rossi", "kim", "chen", "silva", "novak", "ivanova",
		"tanaka", "khan", "brown", "dubois", "jensen", "costa", "haddad", "okafor", "larsen", "moreau", "fischer",
		"lopez", "wilson", "walker", "young", "torvalds", "hopper", "lovelace", "ritchie", "thompson"}
	adjectives = []string{"quick", "lazy", "happy", "brave", "clever", "silent", "cosmic", "rusty", "shiny", "fuzzy",
		"tiny", "giant", "sunny", "stormy", "golden", "hidden", "electric", "wild", "calm", "bold"}
	nouns = []string{"fox", "panda", "rocket", "pixel", "cloud", "river", "engine", "parser", "widget", "kernel",
		"falcon", "otter", "compiler", "garden", "lambda", "matrix", "beacon", "harbor", "forge", "atlas",
		"comet", "nebula", "quartz", "ember", "glacier", "lantern", "meadow", "orbit", "prism", "summit",
		"tundra", "vertex", "willow", "zephyr", "cactus", "dynamo", "gadget", "hammock", "igloo", "jigsaw"}
	langs      = []string{"go", "rust", "python", "js", "ts", "java", "ruby", "php", "swift", "kotlin"}
	labelWords = []string{"bug", "enhancement", "documentation", "duplicate", "question", "wontfix", "invalid",
		"regression", "performance", "security", "dependencies", "triage", "blocked", "breaking"}
	titleWords = []string{"how", "to", "train", "your", "dragon", "build", "a", "fast", "api", "in", "go", "why",
		"we", "moved", "from", "monolith", "microservices", "the", "art", "of", "testing", "ten", "tips", "for",
		"better", "code", "review", "understanding", "async", "rust", "scaling", "postgres", "beyond", "hello",
		"world", "notes", "on", "design", "systems", "learning", "kubernetes", "the", "hard", "way"}
	secretNames  = []string{"AWS_ACCESS_KEY", "NPM_TOKEN", "DOCKER_PASSWORD", "SLACK_WEBHOOK", "DEPLOY_KEY", "API_TOKEN"}
	couponWords  = []string{"SUMMER", "WELCOME", "BLACKFRIDAY", "SPRING", "LOYALTY", "VIP"}
	countries    = []string{"US", "GB", "DE", "FR", "CA", "AU", "JP", "NL", "SE", "IE", "ES", "IT", "SG", "BR", "MX", "IN", "NZ", "CH", "AT", "BE"}
	jiraProjects = []string{"PROJ", "ENG", "OPS", "WEB", "MOB", "DATA", "SEC", "INFRA", "HR", "FIN", "SUP", "QA",
		"DEV", "MKT", "CORE", "API", "PAY", "SHOP", "CRM", "BI"}
)
