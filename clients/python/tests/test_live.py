"""The client against a real hookrelay server, which crates/hookrelay/tests/it/clients.rs starts
and names in HOOKRELAY_TEST_URL and HOOKRELAY_TEST_ADMIN_KEY. Deliveries go to a receiver
served here, on 127.0.0.1, and are checked with hookrelay.verify."""

import http.server
import os
import queue
import threading
import time
import unittest
import uuid

from hookrelay import Client, HookrelayError, verify

URL = os.environ.get("HOOKRELAY_TEST_URL")
KEY = os.environ.get("HOOKRELAY_TEST_ADMIN_KEY")

try:
    import cryptography  # noqa: F401

    HAS_ED25519 = True
except ImportError:  # pragma: no cover
    HAS_ED25519 = False


class Receiver:
    """An HTTP server on 127.0.0.1 that answers 200 and queues each request's path, headers
    and raw body."""

    def __init__(self):
        self.requests = queue.Queue()
        received = self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.put((self.path, list(self.headers.items()), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def take(self, n, deadline_seconds=20):
        """The next ``n`` requests, waiting at most ``deadline_seconds`` for all of them."""
        deadline = time.monotonic() + deadline_seconds
        got = []
        while len(got) < n:
            got.append(self.requests.get(timeout=max(0.0, deadline - time.monotonic())))
        return got

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@unittest.skipUnless(URL and KEY, "HOOKRELAY_TEST_URL and HOOKRELAY_TEST_ADMIN_KEY name no server")
class Live(unittest.TestCase):
    def setUp(self):
        self.client = Client(URL, KEY)
        self.receiver = Receiver()
        self.addCleanup(self.receiver.close)
        self.tenant = "py-" + uuid.uuid4().hex[:12]
        self.client.create_tenant(self.tenant, name="Python client test")

    def test_every_wire_format_is_delivered_and_verifies(self):
        schemes = [
            {"scheme": "standard-webhooks"},
            {"scheme": "hmac-sha256", "header": "X-MG-Signature"},
            {"scheme": "hmac-sha256", "header": "X-Webhook-Signature", "encoding": "base64", "prefix": "sha256="},
            {"scheme": "timestamped-key", "header": "Mave-Signature"},
        ]
        if HAS_ED25519:
            schemes.append({"scheme": "standard-webhooks-v1a"})
        webhooks = {}
        for i, signature in enumerate(schemes):
            hook = self.client.create_webhook(
                {"url": f"{self.receiver.url}/{i}", "signature": signature}, tenant=self.tenant
            )
            self.assertEqual(hook["signature"]["scheme"], signature["scheme"])
            webhooks[f"/{i}"] = hook
        published = self.client.publish("order.paid", {"order_id": 1043}, tenant=self.tenant)
        self.assertTrue(published["id"].startswith("evt_"), published)
        self.assertEqual(published["deliveries"], len(schemes))
        for path, headers, body in self.receiver.take(len(schemes)):
            hook = webhooks[path]
            key = hook.get("public_key") or hook["secret"]
            with self.subTest(hook["signature"]["scheme"]):
                verify.webhook(hook["signature"], key, headers, body)
                with self.assertRaises(verify.VerifyError):
                    verify.webhook(hook["signature"], key, headers, body + b" ")

    def test_publishing_again_under_the_same_id_delivers_once(self):
        hook = self.client.create_webhook({"url": self.receiver.url + "/once"}, tenant=self.tenant)
        event_id = f"order-1-paid-{self.tenant}"
        first = self.client.publish("order.paid", {"n": 1}, id=event_id, tenant=self.tenant)
        again = self.client.publish("order.paid", {"n": 1}, id=event_id, tenant=self.tenant)
        self.assertEqual(first["id"], again["id"])
        _, headers, body = self.receiver.take(1)[0]
        got = verify.standard_webhooks(hook["secret"], headers, body)
        self.assertEqual(got.msg_id, event_id)
        self.assertEqual(self.client.get_event(event_id)["id"], event_id)
        deliveries = list(self.client.list_deliveries(hook["id"], tenant=self.tenant))
        self.assertEqual([d["event_id"] for d in deliveries], [event_id])

    def test_lists_follow_next_cursor_across_pages(self):
        created = [
            self.client.create_webhook({"url": f"{self.receiver.url}/{i}"}, tenant=self.tenant)["id"]
            for i in range(5)
        ]
        listed = [w["id"] for w in self.client.list_webhooks(tenant=self.tenant, limit=2)]
        self.assertEqual(sorted(listed), sorted(created))
        tenants = [t["id"] for t in self.client.list_tenants(limit=1)]
        self.assertIn(self.tenant, tenants)

    def test_errors_carry_the_code_message_and_field(self):
        with self.assertRaises(HookrelayError) as caught:
            self.client.create_webhook({"url": "not a url"}, tenant=self.tenant)
        self.assertEqual((caught.exception.status, caught.exception.code), (422, "validation_failed"))
        self.assertEqual(caught.exception.field, "url")
        with self.assertRaises(HookrelayError) as caught:
            self.client.get_webhook("wh_01ARZ3NDEKTSV4RRFFQ69G5FAV", tenant=self.tenant)
        self.assertEqual(caught.exception.code, "not_found")
        with self.assertRaises(HookrelayError) as caught:
            Client(URL, "wrong key").get_tenant(self.tenant)
        self.assertEqual(caught.exception.status, 401)

    def test_a_webhook_can_be_updated_and_deleted(self):
        hook = self.client.create_webhook({"url": self.receiver.url}, tenant=self.tenant)
        changed = self.client.update_webhook(hook["id"], {"description": "orders"}, tenant=self.tenant)
        self.assertEqual(changed["description"], "orders")
        self.client.delete_webhook(hook["id"], tenant=self.tenant)
        with self.assertRaises(HookrelayError) as caught:
            self.client.get_webhook(hook["id"], tenant=self.tenant)
        self.assertEqual(caught.exception.status, 404)


if __name__ == "__main__":
    unittest.main()
