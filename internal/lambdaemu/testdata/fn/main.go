// Command fn is the Lambda function the lambdaemu tests run. What it does
// depends on the event's action, and on TEST_INIT for the init phase.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Action  string `json:"action"`
	Message string `json:"message"`
	SleepMS int    `json:"sleepMs"`
	Bytes   int    `json:"bytes"`
	Code    int    `json:"code"`
}

type validationError struct{ field string }

func (e validationError) Error() string { return "invalid " + e.field }

// keep holds allocations so they stay resident.
var keep [][]byte

func main() {
	api := os.Getenv("AWS_LAMBDA_RUNTIME_API")
	switch os.Getenv("TEST_INIT") {
	case "exit":
		fmt.Fprintln(os.Stderr, "init: cannot start")
		os.Exit(3)
	case "post":
		req, _ := http.NewRequest(http.MethodPost, "http://"+api+"/2018-06-01/runtime/init/error",
			strings.NewReader(`{"errorMessage":"bad config","errorType":"Runtime.TestInitError"}`))
		req.Header.Set("Lambda-Runtime-Function-Error-Type", "Runtime.TestInitError")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			fmt.Printf("init error posted: %d\n", resp.StatusCode)
			resp.Body.Close()
		}
		os.Exit(1)
	case "hang":
		fmt.Println("init: hanging")
		time.Sleep(time.Hour)
	}
	fmt.Println("init: ready")
	if f := os.Getenv("TEST_SIGTERM_FILE"); f != "" {
		lambda.StartWithOptions(handle, lambda.WithEnableSIGTERM(func() {
			_ = os.WriteFile(f, []byte("sigterm"), 0o600)
		}))
		return
	}
	lambda.Start(handle)
}

func handle(ctx context.Context, ev event) (any, error) {
	lc, _ := lambdacontext.FromContext(ctx)
	fmt.Printf("handling %s %s\n", ev.Action, lc.AwsRequestID)
	switch ev.Action {
	case "echo":
		deadline, _ := ctx.Deadline()
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		wd, _ := os.Getwd()
		return map[string]any{
			"event": ev, "requestId": lc.AwsRequestID, "arn": lc.InvokedFunctionArn,
			"remainingMs": time.Until(deadline).Milliseconds(), "env": env, "cwd": wd,
			"clientContext": lc.ClientContext.Custom, "identityId": lc.Identity.CognitoIdentityID,
		}, nil
	case "error":
		return nil, errors.New(ev.Message)
	case "typed":
		return nil, validationError{field: ev.Message}
	case "panic":
		panic(ev.Message)
	case "sleep":
		time.Sleep(time.Duration(ev.SleepMS) * time.Millisecond)
		return "slept", nil
	case "exit":
		os.Exit(ev.Code)
	case "big":
		return strings.Repeat("x", ev.Bytes), nil
	case "alloc":
		b := bytes.Repeat([]byte{1}, ev.Bytes)
		keep = append(keep, b)
		return len(b), nil
	case "api":
		// Calls the runtime API the way a broken runtime would, and reports
		// the status codes.
		api := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/"
		status := func(path string) int {
			resp, err := http.Post(api+path, "application/json", strings.NewReader(`{}`))
			if err != nil {
				return 0
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		return map[string]int{
			"unknownResponse": status("invocation/no-such-id/response"),
			"unknownError":    status("invocation/no-such-id/error"),
			"initError":       status("init/error"),
		}, nil
	}
	return nil, fmt.Errorf("unknown action %q", ev.Action)
}
