package localsqs_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/gwtap/gwtap/internal/localsqs"
)

// Tests call localsqstest.Start(t) instead; this shows the parts underneath.
func ExampleStart() {
	ctx := context.Background()
	srv, err := localsqs.Start(ctx, localsqs.Options{})
	if err != nil {
		log.Fatal(err) // errors.Is(err, localsqs.ErrNotInstalled): run `npm ci`
	}
	// If this process exits first, the server goes with it.

	qs, err := srv.CreateQueues(ctx, localsqs.QueueSpec{
		Name:              "records",
		MaxReceiveCount:   2,
		VisibilityTimeout: time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	client, err := srv.Client(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:    aws.String(qs.Traffic.URL),
		MessageBody: aws.String(`{"path":"/v1/users"}`),
	}); err != nil {
		log.Fatal(err)
	}
	fmt.Println(qs.Traffic.URL, "redrives to", qs.DLQ.ARN)
	if err := srv.Close(); err != nil {
		log.Fatal(err)
	}
}
