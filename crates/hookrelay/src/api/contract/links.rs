//! OpenAPI links from each create to the operations that use the id it answers, so a stateful
//! client (or fuzzer) can chain create → read → change → delete. Written as plain JSON:
//! utoipa's own `Link` serializes `operationId` as `operation_id`.

use serde_json::{Map, Value, json};

/// The operations one create links to.
struct Links {
    /// The creating operation.
    from: &'static str,
    /// Its success status.
    status: &'static str,
    /// The targets' parameters, as runtime expressions.
    parameters: &'static [(&'static str, &'static str)],
    /// The targets' operation ids, in CamelCase (the link names).
    to: &'static [&'static str],
}

const BODY_ID: &[(&str, &str)] = &[("id", "$response.body#/id")];
const TENANT_WEBHOOK: &[(&str, &str)] =
    &[("tid", "$request.path.tid"), ("id", "$response.body#/id")];
const DELIVERY: &[(&str, &str)] = &[("id", "$response.body#/delivery_id")];

const LINKS: &[Links] = &[
    Links {
        from: "create_tenant",
        status: "201",
        parameters: &[("tid", "$response.body#/id")],
        to: &[
            "GetTenant",
            "UpdateTenant",
            "DeleteTenant",
            "CreateKey",
            "ListTenantWebhooks",
            "CreateTenantWebhook",
        ],
    },
    Links {
        from: "create_webhook",
        status: "201",
        parameters: BODY_ID,
        to: &[
            "GetWebhook",
            "UpdateWebhook",
            "DeleteWebhook",
            "ListDeliveries",
            "WebhookStats",
            "TestWebhook",
            "Replay",
            "RotateSecret",
        ],
    },
    Links {
        from: "create_tenant_webhook",
        status: "201",
        parameters: TENANT_WEBHOOK,
        to: &[
            "GetTenantWebhook",
            "UpdateTenantWebhook",
            "DeleteTenantWebhook",
            "ListTenantDeliveries",
            "TenantWebhookStats",
            "TestTenantWebhook",
            "ReplayTenant",
            "RotateTenantSecret",
        ],
    },
    Links {
        from: "create_event_type",
        status: "201",
        parameters: &[("name", "$response.body#/name")],
        to: &["GetEventType", "UpdateEventType", "DeleteEventType"],
    },
    Links {
        from: "publish",
        status: "202",
        parameters: BODY_ID,
        to: &["GetEvent"],
    },
    Links {
        from: "test_webhook",
        status: "200",
        parameters: DELIVERY,
        to: &["GetDelivery", "RetryDelivery"],
    },
    Links {
        from: "test_tenant_webhook",
        status: "200",
        parameters: DELIVERY,
        to: &["GetDelivery", "RetryDelivery"],
    },
];

/// `GetTenant` → `get_tenant`: link names are the target's operation id in CamelCase.
fn operation_id_of(link: &str) -> String {
    let mut out = String::with_capacity(link.len() + 4);
    for (i, c) in link.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// Adds [`LINKS`] to the success responses of the creates.
pub fn add(doc: &mut Value) {
    let mut by_id: Vec<(String, String, String)> = Vec::new();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            for (method, operation) in item.as_object().into_iter().flatten() {
                if let Some(id) = operation["operationId"].as_str() {
                    by_id.push((id.to_owned(), path.clone(), method.clone()));
                }
            }
        }
    }
    let find = |id: &str| by_id.iter().find(|(op, _, _)| op == id).cloned();
    for links in LINKS {
        let Some((_, path, method)) = find(links.from) else {
            panic!("links from {}: no such operation", links.from);
        };
        let parameters: Map<String, Value> = links
            .parameters
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect();
        for name in links.to {
            let target = operation_id_of(name);
            assert!(
                find(&target).is_some(),
                "link {name}: no operation {target}"
            );
            doc["paths"][&path][&method]["responses"][links.status]["links"][*name] = json!({
                "operationId": target,
                "parameters": parameters,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_names_are_operation_ids() {
        assert_eq!(operation_id_of("GetTenant"), "get_tenant");
        assert_eq!(operation_id_of("RetryDelivery"), "retry_delivery");
    }
}
