package lambdaemu

import (
	"context"
	"fmt"
	"time"
)

// Invoking a function's bootstrap the way Lambda does: a cold start, a
// warm one, and a timeout. testBootstrap is a small aws-lambda-go function
// (testdata/fn) built by TestMain; gwtap invoke builds the real ones with
// Build.
func Example() {
	emu, err := New(Config{Bootstrap: testBootstrap, FunctionName: "demo", Timeout: time.Second})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer emu.Close()
	ctx := context.Background()

	for _, event := range []string{
		`{"action":"error","message":"boom"}`,
		`{"action":"big","bytes":3}`,
		`{"action":"sleep","sleepMs":3000}`,
	} {
		res, err := emu.Invoke(ctx, []byte(event))
		if err != nil {
			fmt.Println(err)
			return
		}
		if res.FunctionError != nil {
			fmt.Printf("cold=%v error %s\n", res.ColdStart, res.FunctionError.Type)
			continue
		}
		fmt.Printf("cold=%v response %s\n", res.ColdStart, res.Payload)
	}
	st := emu.Stats()
	fmt.Println("invocations:", st.Invocations, "cold starts:", st.ColdStarts)
	// Output:
	// cold=true error errorString
	// cold=false response "xxx"
	// cold=false error Sandbox.Timedout
	// invocations: 3 cold starts: 1
}
