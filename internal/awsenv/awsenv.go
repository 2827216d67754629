// Package awsenv builds the AWS SDK configuration of a Lambda function from
// the environment Lambda gives it: region, the execution role's credentials
// and, for local stand-ins, endpoint overrides.
//
// The SDK's config.LoadDefaultConfig does the same and far more (shared
// files, SSO, web identity, IMDS), and linking that machinery adds about
// 2 MB to every bootstrap and work to every cold start; inside Lambda the
// credentials are always in the environment, so this is all a function
// needs. The gwtap CLI, which runs on people's machines, keeps using
// LoadDefaultConfig.
package awsenv

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Config returns the SDK configuration read from getenv (os.Getenv in
// production): AWS_REGION (or AWS_DEFAULT_REGION), AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN. It reports every missing
// value at once.
func Config(getenv func(string) string) (aws.Config, error) {
	var errs []error
	region := getenv("AWS_REGION")
	if region == "" {
		region = getenv("AWS_DEFAULT_REGION")
	}
	if region == "" {
		errs = append(errs, errors.New("AWS_REGION is not set (Lambda always sets it)"))
	}
	id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		errs = append(errs, errors.New("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (Lambda sets them from the execution role)"))
	}
	if len(errs) > 0 {
		return aws.Config{}, fmt.Errorf("AWS environment: %w", errors.Join(errs...))
	}
	return aws.Config{
		Region:      region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(id, secret, getenv("AWS_SESSION_TOKEN"))),
	}, nil
}

// Endpoint returns the endpoint override for a service, as the SDK's
// shared configuration reads it: AWS_ENDPOINT_URL_<SERVICE> (service id
// upper-cased, spaces as underscores, e.g. SQS, SECRETS_MANAGER), else
// AWS_ENDPOINT_URL; nil when neither is set.
func Endpoint(getenv func(string) string, serviceID string) *string {
	key := "AWS_ENDPOINT_URL_" + strings.ToUpper(strings.ReplaceAll(serviceID, " ", "_"))
	if v := getenv(key); v != "" {
		return &v
	}
	if v := getenv("AWS_ENDPOINT_URL"); v != "" {
		return &v
	}
	return nil
}
