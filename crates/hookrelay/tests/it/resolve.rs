//! Name resolution at delivery time: the `resolve` setting answers for host names without DNS
//! (each name still its own host: SNI and `Host` name it), the address guard judges an
//! overridden address as it judges a DNS answer, and the system resolver's answers are cached
//! for `dns_cache_seconds`, then looked up again.

use std::time::Duration;

use hookrelay::delivery::dns::{DnsCounts, DnsSettings};
use hookrelay::delivery::guard::{AddressPolicy, Guard};
use hookrelay::delivery::send::Message;
use hookrelay::delivery::{Sender, Target};
use hookrelay::ids::WebhookId;
use hookrelay::model::host_override::HostOverrides;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{TestApp, TestReceiver, eventually, pooling};
use crate::https::TestCa;

backend_tests!(
    overridden_names_reach_their_address_each_with_its_own_sni,
    in_production_an_override_to_loopback_is_refused_unless_allowed,
    a_looked_up_address_is_reused_until_its_time_runs_out,
);

const OVERRIDE: &str = "*.hooks.test=127.0.0.1";

async fn overridden_names_reach_their_address_each_with_its_own_sni(app: &mut TestApp) {
    let ca = TestCa::new();
    app.stop().await;
    let node = app
        .spawn_peer(|c| {
            c.resolve = vec![OVERRIDE.to_owned()];
            c.extra_root_certificates = Some(ca.pem_file.clone());
        })
        .await;
    let receiver = ca.receiver().await;
    let port = receiver.address.port();
    let mut ids = Vec::new();
    for name in ["a.hooks.test", "b.Hooks.test"] {
        let url = format!("https://{name}:{port}/h");
        let w = node
            .create_webhook(json!({"url": url, "retry_schedule": []}))
            .await;
        ids.push(w["id"].as_str().unwrap().to_owned());
    }
    node.publish(json!({"type": "a.b", "data": {}})).await;
    for id in &ids {
        node.wait_for_delivery(id, "succeeded").await;
    }
    let mut sni: Vec<String> = receiver
        .handshakes()
        .into_iter()
        .filter_map(|h| h.sni)
        .collect();
    sni.sort();
    assert_eq!(sni, ["a.hooks.test", "b.hooks.test"], "one host each");
    let mut hosts: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| r.header("host").to_ascii_lowercase())
        .collect();
    hosts.sort();
    assert_eq!(
        hosts,
        [
            format!("a.hooks.test:{port}"),
            format!("b.hooks.test:{port}")
        ]
    );
    node.teardown().await;
    app.restart().await;
}

async fn in_production_an_override_to_loopback_is_refused_unless_allowed(app: &mut TestApp) {
    app.stop().await;
    let receiver = TestReceiver::spawn().await;
    let port = receiver.address.port();
    let prod = app
        .spawn_peer(|c| {
            c.dev = false;
            c.resolve = vec![OVERRIDE.to_owned()];
        })
        .await;
    let w = prod
        .create_webhook(
            json!({"url": format!("https://a.hooks.test:{port}/h"), "retry_schedule": []}),
        )
        .await;
    let id = w["id"].as_str().unwrap();
    prod.publish(json!({"type": "a.b", "data": {}})).await;
    let d = prod.wait_for_delivery(id, "failed").await;
    let error = d["attempts"][0]["error"].as_str().unwrap();
    assert!(error.starts_with("address not allowed"), "{error}");
    assert!(receiver.received().is_empty());
    prod.teardown().await;

    // Allowed by CIDR, the overridden name connects (and fails at TLS: the receiver is plain).
    let allowed = app
        .spawn_peer(|c| {
            c.dev = false;
            c.resolve = vec![OVERRIDE.to_owned()];
            c.allowed_cidrs = vec!["127.0.0.0/8".parse().unwrap()];
        })
        .await;
    let w = allowed
        .create_webhook(
            json!({"url": format!("https://b.hooks.test:{port}/h"), "retry_schedule": []}),
        )
        .await;
    allowed.publish(json!({"type": "a.b", "data": {}})).await;
    let d = allowed
        .wait_for_delivery(w["id"].as_str().unwrap(), "failed")
        .await;
    let error = d["attempts"][0]["error"].as_str().unwrap();
    assert!(
        error.starts_with("tls"),
        "it connected, then TLS failed: {error}"
    );
    allowed.teardown().await;
    app.restart().await;
}

async fn a_looked_up_address_is_reused_until_its_time_runs_out(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    // `localhost` is looked up through the system resolver (the hosts file), not overridden.
    let url = format!("http://localhost:{}/h", receiver.address.port());
    let w = app.create_webhook(json!({"url": url})).await;
    let webhook = app
        .store
        .as_ref()
        .unwrap()
        .webhooks_by_id(&[WebhookId::from_trusted(w["id"].as_str().unwrap())])
        .await
        .unwrap()
        .pop()
        .unwrap();
    let target = Target::new(webhook);
    let guard = Guard::new(
        AddressPolicy {
            allow_all: true,
            allowed: Vec::new(),
            allowed_only: false,
        },
        HostOverrides::default(),
        DnsSettings {
            ttl: Duration::from_millis(300),
            capacity: 16,
        },
    );
    let tls = hookrelay::delivery::tls::client_config(&[]).unwrap();
    let sender = Sender::new(guard, &tls, pooling()).unwrap();
    let message = Message {
        id: "evt_dns",
        event_type: "a.b",
        created_at: hookrelay::clock::now_ms(),
        data: "{}",
    };
    // Each attempt opens a connection of its own, so each resolves the host.
    for _ in 0..3 {
        let outcome = sender.attempt(&target, message).await;
        assert!(outcome.result.succeeded, "{outcome:?}");
    }
    assert_eq!(
        sender.dns_counts(),
        DnsCounts {
            lookups: 1,
            hits: 2
        }
    );
    eventually(Duration::from_secs(10), "the answer expires", || async {
        let outcome = sender.attempt(&target, message).await;
        assert!(outcome.result.succeeded, "{outcome:?}");
        sender.dns_counts().lookups == 2
    })
    .await;
    let counts = sender.dns_counts();
    assert_eq!(
        receiver.received().len() as u64,
        counts.lookups + counts.hits,
        "one resolution per connection, one connection per attempt"
    );
}
