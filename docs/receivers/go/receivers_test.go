// Known answers computed by hookrelay-signature (see crates/hookrelay-signature/tests/receivers.rs,
// which pins the same inputs). Not run by hookrelay's test suite: `go test` here, with Go.
package receivers

import (
	"net/http"
	"testing"
	"time"
)

func TestStandardWebhooks(t *testing.T) {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	body := []byte(`{"test": 2432232314}`)
	headers := http.Header{}
	headers.Set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
	headers.Set("webhook-timestamp", "1614265330")
	headers.Set("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	now := time.Unix(1614265330, 0)
	if id, err := VerifyStandardWebhooks(secret, headers, body, now); err != nil || id != "msg_p5jXN8AQM9LWM0D4loKWxJek" {
		t.Fatalf("genuine delivery rejected: %q %v", id, err)
	}
	if _, err := VerifyStandardWebhooks(secret, headers, []byte(`{"test": 2432232315}`), now); err == nil {
		t.Fatal("tampered body accepted")
	}
	if _, err := VerifyStandardWebhooks(secret, headers, body, now.Add(301*time.Second)); err == nil {
		t.Fatal("stale timestamp accepted")
	}
	if _, err := VerifyStandardWebhooks("whsec_aGVsbG8=", headers, body, now); err == nil {
		t.Fatal("wrong secret accepted")
	}
}

func TestHmacSha256(t *testing.T) {
	body := []byte(`{"event":"meeting.created"}`)
	hexSig := "sha256=a5318dc2d62509334244c2a01c694195016cd0090169ca7fe7120aa95e76d5f4"
	if err := VerifyHmacSha256("my-secret", hexSig, body, "sha256=", false); err != nil {
		t.Fatalf("genuine hex delivery rejected: %v", err)
	}
	b64Sig := "pTGNwtYlCTNCRMKgHGlBlQFs0AkBacp/5xIKqV521fQ="
	if err := VerifyHmacSha256("my-secret", b64Sig, body, "", true); err != nil {
		t.Fatalf("genuine base64 delivery rejected: %v", err)
	}
	if err := VerifyHmacSha256("other-secret", hexSig, body, "sha256=", false); err == nil {
		t.Fatal("wrong secret accepted")
	}
	if err := VerifyHmacSha256("my-secret", hexSig, []byte(`{"event":"meeting.deleted"}`), "sha256=", false); err == nil {
		t.Fatal("tampered body accepted")
	}
}

func TestTimestampedKey(t *testing.T) {
	body := []byte(`{"id":"evt_1","object":"event","data":{},"type":"video.created","created":1700000000}`)
	header := "t=1700000000, v1=ac88b8f4fbb8f793e64b57b977b826d7f379a8f687a8506835e919ed15a16cbf"
	now := time.Unix(1700000000, 0)
	if ts, err := VerifyTimestampedKey("mave_secret", header, body, now); err != nil || ts != 1700000000 {
		t.Fatalf("genuine delivery rejected: %d %v", ts, err)
	}
	if _, err := VerifyTimestampedKey("mave_secret", header, body, now.Add(-301*time.Second)); err == nil {
		t.Fatal("timestamp from the future accepted")
	}
	if _, err := VerifyTimestampedKey("wrong", header, body, now); err == nil {
		t.Fatal("wrong secret accepted")
	}
}
