// Package receivers verifies hookrelay deliveries with the Go standard library only.
// Each function takes the raw request body (io.ReadAll(r.Body), before any JSON parsing) and
// returns an error unless the delivery is genuine. docs/receiving.md shows the same code.
//
// Not run by hookrelay's test suite, which runs on machines without Go; the Python and Node
// versions beside this directory are. With Go installed: `go test` in this directory.
package receivers

// --8<-- [start:common]
import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Tolerance is hookrelay's default, as in Standard Webhooks.
const Tolerance = 5 * 60 // seconds

var ErrInvalidSignature = errors.New("invalid webhook signature")

func checkTimestamp(timestamp string, now time.Time) (int64, error) {
	t, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return 0, ErrInvalidSignature
	}
	if d := now.Unix() - t; d > Tolerance || d < -Tolerance {
		return 0, ErrInvalidSignature
	}
	return t, nil
}
// --8<-- [end:common]

// --8<-- [start:standard-webhooks]
// VerifyStandardWebhooks checks a delivery signed with a "whsec_..." secret and returns its
// event id. Pass r.Header and time.Now().
func VerifyStandardWebhooks(secret string, headers http.Header, body []byte, now time.Time) (string, error) {
	msgID := headers.Get("webhook-id")
	timestamp := headers.Get("webhook-timestamp")
	signatures := headers.Get("webhook-signature")
	if msgID == "" || timestamp == "" || signatures == "" {
		return "", ErrInvalidSignature
	}
	if _, err := checkTimestamp(timestamp, now); err != nil {
		return "", err
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msgID + "." + timestamp + "."))
	mac.Write(body)
	expected := mac.Sum(nil)
	for _, entry := range strings.Split(signatures, " ") {
		version, signature, _ := strings.Cut(entry, ",")
		decoded, err := base64.StdEncoding.DecodeString(signature)
		if version == "v1" && err == nil && hmac.Equal(decoded, expected) {
			return msgID, nil // the event id: use it to deduplicate
		}
	}
	return "", ErrInvalidSignature
}
// --8<-- [end:standard-webhooks]

// --8<-- [start:hmac-sha256]
// VerifyHmacSha256 checks a signature header's value, e.g. r.Header.Get("X-Mavio-Signature").
func VerifyHmacSha256(secret, header string, body []byte, prefix string, useBase64 bool) error {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	expected := prefix + hex.EncodeToString(mac.Sum(nil))
	if useBase64 {
		expected = prefix + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	}
	if header == "" || !hmac.Equal([]byte(header), []byte(expected)) {
		return ErrInvalidSignature
	}
	return nil
}
// --8<-- [end:hmac-sha256]

// --8<-- [start:timestamped-key]
// VerifyTimestampedKey checks e.g. r.Header.Get("Mave-Signature"): "t=<unix>, v1=<hex>".
func VerifyTimestampedKey(secret, header string, body []byte, now time.Time) (int64, error) {
	var timestamp string
	var signatures []string
	for _, field := range strings.Split(header, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(field), "=")
		switch name {
		case "t":
			timestamp = value
		case "v1":
			signatures = append(signatures, value)
		}
	}
	t, err := checkTimestamp(timestamp, now)
	if err != nil {
		return 0, err
	}
	// The key, not the message, carries the timestamp.
	mac := hmac.New(sha256.New, []byte(timestamp+"."+secret))
	mac.Write(body)
	expected := hex.EncodeToString(mac.Sum(nil))
	for _, s := range signatures {
		if hmac.Equal([]byte(s), []byte(expected)) {
			return t, nil
		}
	}
	return 0, ErrInvalidSignature
}
// --8<-- [end:timestamped-key]
