"""hookrelay.verify against every Standard Webhooks vector (tests/data, a copy of the Rust
crate's crates/hookrelay-signature/tests/vectors), each reference document's scheme (the same
known answers as crates/hookrelay-signature/tests/seeds.rs), and v1a (Ed25519)."""

import base64
import json
import pathlib
import unittest

from hookrelay import verify

VECTORS = json.loads((pathlib.Path(__file__).parent / "data" / "standard-webhooks.json").read_text())["vectors"]

try:
    from cryptography.hazmat.primitives.asymmetric import ed25519
except ImportError:  # pragma: no cover - the optional dependency
    ed25519 = None


def sw_headers(msg_id, timestamp, signature):
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp), "webhook-signature": signature}


class StandardWebhooksVectors(unittest.TestCase):
    def test_every_vector_verifies_as_its_valid_flag_says(self):
        self.assertEqual(len(VECTORS), 5)
        for v in VECTORS:
            with self.subTest(v["name"]):
                signature = v.get("signature_header") or v["expected_signature"]
                headers = sw_headers(v["msg_id"], v["timestamp"], signature)
                body = v["payload"].encode()
                if v["valid"]:
                    got = verify.standard_webhooks(v["secret"], headers, body, now=v["timestamp"])
                    self.assertEqual(got, verify.Verified(v["msg_id"], v["timestamp"]))
                else:
                    with self.assertRaises(verify.NoMatchingSignature):
                        verify.standard_webhooks(v["secret"], headers, body, now=v["timestamp"])

    def test_any_change_or_wrong_secret_fails(self):
        v = VECTORS[0]
        good = sw_headers(v["msg_id"], v["timestamp"], v["expected_signature"])
        body = v["payload"].encode()
        cases = [
            ("body", v["secret"], good, body + b" "),
            ("id", v["secret"], {**good, "webhook-id": "msg_other"}, body),
            ("timestamp", v["secret"], {**good, "webhook-timestamp": str(v["timestamp"] + 1)}, body),
            ("secret", "whsec_" + base64.b64encode(b"another secret").decode(), good, body),
        ]
        for name, secret, headers, b in cases:
            with self.subTest(name), self.assertRaises(verify.NoMatchingSignature):
                verify.standard_webhooks(secret, headers, b, now=v["timestamp"] + 1)

    def test_rotation_any_secret_may_match_and_headers_are_case_insensitive(self):
        v = VECTORS[0]
        other = "whsec_" + base64.b64encode(b"old").decode()
        headers = [(k.upper(), val) for k, val in sw_headers(v["msg_id"], v["timestamp"], v["expected_signature"]).items()]
        got = verify.standard_webhooks([other, v["secret"]], headers, v["payload"].encode(), now=v["timestamp"])
        self.assertEqual(got.msg_id, v["msg_id"])

    def test_stale_or_future_timestamps_fail_before_the_signature(self):
        v = VECTORS[0]
        headers = sw_headers(v["msg_id"], v["timestamp"], v["expected_signature"])
        for now in (v["timestamp"] + 301, v["timestamp"] - 301):
            with self.subTest(now=now), self.assertRaises(verify.TimestampOutOfTolerance):
                verify.standard_webhooks(v["secret"], headers, v["payload"].encode(), now=now)
        got = verify.standard_webhooks(v["secret"], headers, v["payload"].encode(), tolerance=None)
        self.assertEqual(got.timestamp, v["timestamp"])

    def test_missing_and_malformed_headers_say_which(self):
        v = VECTORS[0]
        good = sw_headers(v["msg_id"], v["timestamp"], v["expected_signature"])
        for name in good:
            partial = {k: val for k, val in good.items() if k != name}
            with self.subTest(missing=name), self.assertRaises(verify.MissingHeader) as caught:
                verify.standard_webhooks(v["secret"], partial, b"", now=v["timestamp"])
            self.assertEqual(caught.exception.header, name)
        bad = [
            ("webhook-timestamp", "12.5"),
            ("webhook-timestamp", " 1614265330"),
            ("webhook-signature", "v2,abc"),
            ("webhook-signature", "v1,not-base64!"),
        ]
        for header, value in bad:
            with self.subTest(value), self.assertRaises(verify.MalformedHeader) as caught:
                verify.standard_webhooks(v["secret"], {**good, header: value}, b"", tolerance=None)
            self.assertEqual(caught.exception.header, header)


class Seeds(unittest.TestCase):
    """The reference documents' schemes, with the known answers the Rust crate pins."""

    def test_000_mavio_hex_of_the_body(self):
        body = b'{"id":"evt_123","type":"meeting.completed","created_at":"2024-01-15T10:30:00Z","data":{"meeting_id":"m_1"}}'
        headers = {"X-Mavio-Signature": "4a5393bab475ab20e0b3e61d71e2712f3a1f5c587c37262528e1f889bda38f37"}
        config = {"scheme": "hmac-sha256", "header": "X-Mavio-Signature", "encoding": "hex"}
        self.assertEqual(verify.webhook(config, "mavio_secret_123", headers, body), verify.Verified(None, None))
        with self.assertRaises(verify.NoMatchingSignature):
            verify.webhook(config, "mavio_secret_123", headers, body + b" ")

    def test_001_sha256_prefix(self):
        body = b'{"event":"recording.created","timestamp":"2024-01-15T10:00:00Z","data":{"recording":{"id":999,"title":"Test Recording","status":"new"}}}'
        value = "sha256=9e3ea3a9efc0feaeae04e90112fec39d9e1d22ba713b6a8f4c5cf0687f64ae0e"
        got = verify.hmac_sha256("whk_secret_001", {"x-webhook-signature": value}, body, prefix="sha256=")
        self.assertIsNone(got.timestamp)
        with self.assertRaises(verify.MalformedHeader):
            verify.hmac_sha256("whk_secret_001", {"X-Webhook-Signature": value[7:]}, body, prefix="sha256=")

    def test_002_and_003_mave_timestamped_key(self):
        short = (
            "mave_secret_abc",
            b'{"id":"j3bw2jWb6q7aWGwChsgR86","object":"event","data":{"created":1643723737,"embed_url":"","id":"k1iFD7h4rW","last_upload":null,"object":"video"},"type":"video.created","created":1643723823}',
            "t=1643723823, v1=235b3aa821f12f49fce05797c8470728cd94d0bb4e704796aa66c037917f6139",
        )
        long = (
            "mave_whsec_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            b'{"id":"j3bw2jWb6q7aWGwChsgR86","object":"event","data":{"created":1643723737,"duration":null,"id":"k1iFD7h4rW","last_upload":null,"name":null,"object":"video","poster_image":null,"size":null,"renditions":["sd","hd"]},"type":"video.created","created":1643723823}',
            "t=1643723823, v1=6d16e9b8c811e077592fedf58d1b5db060085a5011c412e42e9b8f42dd4a7591",
        )
        config = {"scheme": "timestamped-key", "header": "Mave-Signature"}
        for secret, body, value in (short, long):
            with self.subTest(secret):
                got = verify.webhook(config, secret, {"Mave-Signature": value}, body, now=1643723823)
                self.assertEqual(got, verify.Verified(None, 1643723823))
                with self.assertRaises(verify.TimestampOutOfTolerance):
                    verify.webhook(config, secret, {"Mave-Signature": value}, body, now=1643723823 + 301)
                with self.assertRaises(verify.NoMatchingSignature):
                    verify.webhook(config, secret + "x", {"Mave-Signature": value}, body, now=1643723823)

    def test_004_meetgeek_pretty_printed_body(self):
        body = b'{\n    "message": "File analyzed successfully",\n    "meeting_id": "9433976b-cfa3-4373-9afb-eb0b7a5915df"\n}'
        headers = {"X-MG-Signature": "4b49907da90dcc544f6e019d68c026c82e8d9d8cc60b062abf1ed49c39257760"}
        verify.hmac_sha256("mg-secret-xyz", headers, body, header="X-MG-Signature")

    def test_base64_encoding(self):
        headers = {"X-Sig": "v1=kwezuRXvtRcf8U2MtV+8x5jGwO8UVtZt7RpqpyOli3s="}
        verify.hmac_sha256("key", headers, b"hello", header="X-Sig", encoding="base64", prefix="v1=")


@unittest.skipIf(ed25519 is None, "the optional `cryptography` package is not installed: v1a is not checked")
class Asymmetric(unittest.TestCase):
    """v1a with the key pair of hookrelay-signature's documentation."""

    PRIVATE = "whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="
    PUBLIC = "whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
    ID, TS, BODY = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'

    def signature(self):
        seed = base64.b64decode(self.PRIVATE[5:])
        key = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
        return "v1a," + base64.b64encode(key.sign(b"%s.%d.%s" % (self.ID.encode(), self.TS, self.BODY))).decode()

    def test_the_public_key_verifies_and_a_changed_body_fails(self):
        headers = sw_headers(self.ID, self.TS, "v1,ignored " + self.signature())
        got = verify.standard_webhooks(self.PUBLIC, headers, self.BODY, now=self.TS)
        self.assertEqual(got.msg_id, self.ID)
        verify.standard_webhooks(self.PRIVATE, headers, self.BODY, now=self.TS)
        with self.assertRaises(verify.NoMatchingSignature):
            verify.standard_webhooks(self.PUBLIC, headers, self.BODY + b" ", now=self.TS)

    def test_a_public_key_ignores_v1_entries(self):
        v = VECTORS[0]
        headers = sw_headers(v["msg_id"], v["timestamp"], v["expected_signature"])
        with self.assertRaises(verify.MalformedHeader) as caught:
            verify.standard_webhooks(self.PUBLIC, headers, v["payload"].encode(), now=v["timestamp"])
        self.assertIn("v1a", caught.exception.reason)


if __name__ == "__main__":
    unittest.main()
